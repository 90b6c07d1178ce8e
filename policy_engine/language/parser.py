"""Policy text to AST and comments, reporting every syntax error at once.

The text is parsed once. On a syntax error the parser's ``on_error`` hook
reports it, drops the unfinished declaration, skips to the next line that
starts with a declaration keyword (``stage`` only outside braces, where it is
also a control item) and resumes there: one mistake costs one declaration and
every other error is still found. Past :data:`MAX_SYNTAX_ERRORS` errors are
only counted. The lexer collects the comments on the way.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import LexerState, LexerThread
from lark.parsers.lalr_analysis import Shift
from lark.parsers.lalr_parser_state import ParserState

from policy_engine import inputs
from policy_engine.diagnostics import Diagnostic, Span
from policy_engine.errors import InputError
from policy_engine.language import ast
from policy_engine.language.ast_builder import AstBuilder
from policy_engine.language.comments import Comment, comment_at
from policy_engine.language.grammar import comments_lexed, parser

MAX_POLICY_BYTES = 1024 * 1024
MAX_SYNTAX_ERRORS = 100
MAX_NESTING = 100  # levels of the parse tree (a parenthesis costs two); keeps recursion bounded
_BLOCK_ITEM_WORDS = frozenset({"stage"})  # declaration keywords that also start a control item
_BRACES = {"LBRACE": 1, "RBRACE": -1}

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
    "MODELS": "`models`",
    "RUNS": "`runs`",
    "$END": "end of file",
}


@dataclass(frozen=True)
class ParseResult:
    module: ast.Module
    source: str
    diagnostics: tuple[Diagnostic, ...]
    comments: tuple[Comment, ...] = ()


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    pattern = parser().get_terminal(terminal).pattern
    if pattern.type == "str":
        return f"`{pattern.value}`"
    return "" if terminal.startswith("__") else terminal.lower()


MAX_EXPECTED = 16  # a longer list of expected tokens is cut to a few examples
EXAMPLES_SHOWN = 6


def _expected(names: set[str]) -> str:
    described = sorted({_describe(n) for n in names} - {""})
    if len(described) <= 1:
        return "".join(described)
    if len(described) > MAX_EXPECTED:
        words = sorted(described, key=lambda d: not d.strip("`").isalpha())
        shown = ", ".join(words[:EXAMPLES_SHOWN])
        return f"one of {len(described)} words here, such as {shown}"
    return ", ".join(described[:-1]) + " or " + described[-1]


def _did_you_mean(token: Token, expected: set[str]) -> str | None:
    """A help naming the expected keyword closest to a misspelt word, if one is close."""
    if token.type not in ("NAME", "CONTROL_ID"):
        return None
    patterns = [parser().get_terminal(n).pattern for n in expected if n != "$END"]
    words = [pattern.value for pattern in patterns if pattern.type == "str"]
    close = difflib.get_close_matches(str(token), words, n=1)
    return f"did you mean `{close[0]}`?" if close else None


def syntax_diagnostic(error: UnexpectedInput, file: str, source: str) -> Diagnostic:
    """Turn a lark error into a located diagnostic with a stable code."""
    line, column = error.line, error.column
    if isinstance(error, UnexpectedCharacters):
        span = Span(file, line, column, line, column + 1)
        if error.char == '"':
            return Diagnostic(
                "E003", "unterminated string", span, 'close the string with `"` on the same line'
            )
        return Diagnostic(
            "E002",
            f"unexpected character `{_shown(error.char)}`",
            span,
            "names use letters, digits and `_`; other text goes in a string",
        )
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        last = source.rstrip(" \t\r\n").split("\n")
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
    expected = set(error.expected)
    help_text = _did_you_mean(token, expected) or f"expected {_expected(expected)}"
    return Diagnostic("E001", f"unexpected `{_shown(str(token))}`", span, help_text)


def _shown(text: str, limit: int = 40) -> str:
    """``text`` for a message: unprintable characters as code points, at most ``limit`` long."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"U+{ord(c):04X}" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_text(text: str, file: str = "<policy>") -> ParseResult:
    """Parse policy ``text``; diagnostics list every syntax error, each located."""
    recovery = _Recovery(file, text)
    with comments_lexed() as tokens:
        tree = parser().parse(text, on_error=recovery)
    comments = tuple(comment_at(token, text) for token in tokens)
    too_deep = _too_deep(tree, file)
    if too_deep is not None:
        diagnostics = (*recovery.reported(), too_deep)
        return ParseResult(ast.Module(file, ()), text, diagnostics, comments)
    declarations = AstBuilder(file).transform(tree)
    module = ast.Module(file, tuple(declarations))
    return ParseResult(module, text, recovery.reported(), comments)


def _too_deep(tree: Tree[Token], file: str) -> Diagnostic | None:
    """An E007 at the first part of ``tree`` nested deeper than :data:`MAX_NESTING`, if any.

    Walked without recursion, before anything recursive (the AST builder, the
    printer, the compiler's walks) sees the tree.
    """
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_NESTING and not node.meta.empty:
            meta = node.meta
            span = Span(file, meta.line, meta.column, meta.line, meta.column + 1)
            help_text = "split the condition into several `require` lines or controls"
            return Diagnostic("E007", "the policy nests too deeply", span, help_text)
        children = [child for child in node.children if isinstance(child, Tree)]
        stack.extend((child, level + 1) for child in reversed(children))
    return None


@dataclass
class _Recovery:
    """The parser's ``on_error``: report the error, then resume at the next declaration."""

    file: str
    source: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unreported: int = 0
    first_unreported: Span | None = None

    def __call__(self, error: UnexpectedInput) -> bool:
        self._report(error)
        _resume(error)
        return True

    def _report(self, error: UnexpectedInput) -> None:
        if len(self.diagnostics) < MAX_SYNTAX_ERRORS:
            self.diagnostics.append(syntax_diagnostic(error, self.file, self.source))
            return
        if not self.unreported:
            self.first_unreported = syntax_diagnostic(error, self.file, self.source).span
        self.unreported += 1

    def reported(self) -> tuple[Diagnostic, ...]:
        """The diagnostics, with one more saying how many were left out."""
        if not self.unreported:
            return tuple(self.diagnostics)
        more = Diagnostic(
            "E006",
            f"too many syntax errors: {self.unreported} more not shown",
            self.first_unreported,
            f"only the first {MAX_SYNTAX_ERRORS} are reported; fix them and run again",
        )
        return (*self.diagnostics, more)


@dataclass(frozen=True)
class _TopLevel:
    """Declaration keywords (word to the terminal the parser expects there) and the
    parser states between declarations: those that shift every such keyword."""

    terminals: dict[str, str]
    states: frozenset[int]


@lru_cache(maxsize=1)
def _top_level() -> _TopLevel:
    start = parser().parse_interactive("")
    words = {t.name: t.pattern.value for t in parser().terminals}
    choices = start.choices()  # type: ignore[no-untyped-call]  # lark leaves it unannotated
    terminals = {words[name]: name for name in choices if name in words}
    states = start.parser_state.parse_conf.states
    between = frozenset(
        state
        for state, actions in states.items()
        if all(actions.get(name, (None,))[0] is Shift for name in terminals.values())
    )
    return _TopLevel(terminals, between)


def _resume(error: UnexpectedInput) -> None:
    """Drop the unfinished declaration and feed the parser the next declaration's keyword."""
    interactive = error.interactive_parser
    depth = _drop_unfinished(interactive.parser_state)
    keyword = _next_declaration(error, interactive.lexer_thread, depth)
    if keyword is not None:
        name = _top_level().terminals[keyword.value]
        interactive.feed_token(Token.new_borrow_pos(name, keyword.value, keyword))


def _drop_unfinished(state: ParserState[Token]) -> int:
    """Pop ``state`` back to its last complete declaration; return the braces left open."""
    keep = len(state.state_stack)
    while state.state_stack[keep - 1] not in _top_level().states:
        keep -= 1
    dropped = state.value_stack[keep - 1 :]
    del state.state_stack[keep:], state.value_stack[keep - 1 :]
    return sum(_BRACES.get(value.type, 0) for value in dropped if isinstance(value, Token))


def _next_declaration(error: UnexpectedInput, thread: LexerThread, depth: int) -> Token | None:
    """The next token, from the offending one on, that begins a declaration; None at the end."""
    token = error.token if isinstance(error, UnexpectedToken) else _next_token(thread)
    while token is not None and token.type != "$END":
        if _begins_declaration(token, depth):
            return token
        depth += _BRACES.get(token.type, 0)
        token = _next_token(thread)
    return None


def _begins_declaration(token: Token, depth: int) -> bool:
    """A declaration keyword first on its line (a block item's keyword only outside braces)."""
    if token.column != 1 or token.value not in _top_level().terminals:
        return False
    return depth <= 0 or token.value not in _BLOCK_ITEM_WORDS


def _next_token(thread: LexerThread) -> Token | None:
    """The next token, whatever the parser state; text that is no token is passed over."""
    lexer = thread.lexer.root_lexer  # type: ignore[attr-defined]  # the contextual lexer's
    state = thread.state
    assert state is not None  # a thread that raised an error has lexed
    while True:
        try:
            token: Token = lexer.next_token(state)
            return token
        except EOFError:
            return None
        except UnexpectedCharacters as error:
            _pass_over(state, error)


def _pass_over(state: LexerState, error: UnexpectedCharacters) -> None:
    """Move past an unexpected character; an unterminated string runs to the end of its line."""
    text, start = state.text.text, error.pos_in_stream or 0
    end = start + 1
    if error.char == '"':
        newline = text.find("\n", start)
        end = len(text) if newline < 0 else newline
    state.line_ctr.feed(text[start:end])


def parse_file(path: Path, display: str | None = None) -> ParseResult:
    """Read and parse a policy file; an unreadable file is an E005 diagnostic."""
    name = display or str(path)
    try:
        text = inputs.read_text(path, name, MAX_POLICY_BYTES)
    except InputError as exc:
        return _unreadable(name, exc.message)
    return parse_text(text, name)


def _unreadable(name: str, reason: str) -> ParseResult:
    diagnostic = Diagnostic("E005", f"`{name}`: {reason}")
    return ParseResult(ast.Module(name, ()), "", (diagnostic,))
