"""Policy text to AST, reporting every syntax error at once.

The file is cut into top-level declarations (a line starting, unindented,
with a declaration keyword) and each piece is parsed on its own, so one
mistake costs one declaration and every other error is still found. Line
and column numbers stay those of the whole file.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policy_engine.diagnostics import Diagnostic, Span
from policy_engine.language import ast
from policy_engine.language.ast_builder import AstBuilder
from policy_engine.language.comments import Comment, comment_at, scan_line
from policy_engine.language.grammar import comments_lexed, parser

MAX_POLICY_BYTES = 1024 * 1024
# `stage` is also a control item, so it starts a declaration only outside braces.
_ALWAYS_TOP = re.compile(r"(policy|pack|parameter|import|key|role|attestations|control|waive)\b")
_STAGE_TOP = re.compile(r"stage\b")

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "CONTROL_ID": "a control id",
    "NUMBER": "a number",
    "DURATION": "a duration such as `30d`",
    "DATE": "a date such as `2026-12-31`",
    "COMPARATOR": "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
    "ATTESTATIONS": "`attestations`",
    "QUANTIFIER": "a quantifier (`every`, `some`, `no`)",
    "AT": "`at least`",
    "ARTIFACTS": "`artifacts`",
    "STEPS": "`steps`",
    "$END": "end of file",
}


@dataclass(frozen=True)
class ParseResult:
    module: ast.Module
    source: str
    diagnostics: tuple[Diagnostic, ...]
    comments: tuple[Comment, ...] = ()


def _brace_delta(line: str) -> int:
    """Net ``{``/``}`` count of a line, outside strings and comments."""
    code = scan_line(line)[0]
    return code.count("{") - code.count("}")


def split_declarations(text: str) -> list[tuple[int, str]]:
    """Cut ``text`` into (first line index, text) pieces, one per top-level declaration."""
    lines = text.splitlines(keepends=True)
    starts: list[int] = []
    depth = 0
    for i, line in enumerate(lines):
        if _ALWAYS_TOP.match(line) or (depth <= 0 and _STAGE_TOP.match(line)):
            starts.append(i)
            depth = 0
        depth += _brace_delta(line)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    bounds = [*starts, len(lines)]
    return [(a, "".join(lines[a:b])) for a, b in itertools.pairwise(bounds) if a < b]


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    pattern = parser().get_terminal(terminal).pattern
    if pattern.type == "str":
        return f"`{pattern.value}`"
    return "" if terminal.startswith("__") else terminal.lower()


def _expected(names: set[str]) -> str:
    described = sorted({_describe(n) for n in names} - {""})
    if len(described) <= 1:
        return "".join(described)
    return ", ".join(described[:-1]) + " or " + described[-1]


def syntax_diagnostic(error: UnexpectedInput, file: str, source: str) -> Diagnostic:
    """Turn a lark error into a located diagnostic with a stable code."""
    line, column = error.line, error.column
    if isinstance(error, UnexpectedCharacters):
        char = source.splitlines()[line - 1][column - 1] if line > 0 else ""
        span = Span(file, line, column, line, column + 1)
        if char == '"':
            return Diagnostic(
                "E003", "unterminated string", span, 'close the string with `"` on the same line'
            )
        return Diagnostic(
            "E002",
            f"unexpected character `{char}`",
            span,
            "names use letters, digits and `_`; other text goes in a string",
        )
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        last = source.rstrip().splitlines() or [""]
        end_line = len(last)
        span = Span(file, end_line, len(last[-1]) + 1, end_line, len(last[-1]) + 2)
        return Diagnostic(
            "E004", "unexpected end of file", span, f"expected {_expected(set(error.expected))}"
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    span = Span(
        file,
        token.line or line,
        token.column or column,
        token.end_line or line,
        token.end_column or column + 1,
    )
    return Diagnostic(
        "E001", f"unexpected `{token}`", span, f"expected {_expected(set(error.expected))}"
    )


def parse_text(text: str, file: str = "<policy>") -> ParseResult:
    """Parse policy ``text``; diagnostics list every syntax error, each located.

    The whole text is parsed at once, its comments collected by the lexer; only
    when that fails is it cut into declarations, so that every declaration's
    errors are found.
    """
    try:
        with comments_lexed() as tokens:
            tree = parser().parse(text)
    except UnexpectedInput:
        return _parse_pieces(text, file)
    declarations = AstBuilder(file).transform(tree)
    comments = tuple(comment_at(token, text) for token in tokens)
    return ParseResult(ast.Module(file, tuple(declarations)), text, (), comments)


def _parse_pieces(text: str, file: str) -> ParseResult:
    declarations: list[ast.Declaration] = []
    diagnostics: list[Diagnostic] = []
    for first_line, piece in split_declarations(text):
        padded = "\n" * first_line + piece
        try:
            tree = parser().parse(padded)
        except UnexpectedInput as error:
            diagnostics.append(syntax_diagnostic(error, file, text))
            continue
        declarations.extend(AstBuilder(file).transform(tree))
    return ParseResult(ast.Module(file, tuple(declarations)), text, tuple(diagnostics))


def parse_file(path: Path, display: str | None = None) -> ParseResult:
    """Read and parse a policy file; an unreadable file is an E005 diagnostic."""
    name = display or str(path)
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise ValueError(f"larger than {MAX_POLICY_BYTES} bytes")
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return _unreadable(name, "file not found")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return _unreadable(name, f"cannot read policy file: {reason}")
    return parse_text(text, name)


def _unreadable(name: str, reason: str) -> ParseResult:
    diagnostic = Diagnostic("E005", f"`{name}`: {reason}")
    return ParseResult(ast.Module(name, ()), "", (diagnostic,))
