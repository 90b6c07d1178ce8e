"""One diagnostic shape for every policy problem: stable code, span, message, help.

Messages follow one style: lowercase, no trailing period, user input in
backticks; longer explanation goes in ``help``. :func:`render` prints the
source line with a caret under the span.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum


class Level(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns count from 1, ``end_column`` is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# Stable codes: never renumber, only add.
CODES: Mapping[str, str] = {
    "E001": "unexpected token",
    "E002": "unexpected character",
    "E003": "unterminated string",
    "E004": "unexpected end of file",
    "E005": "unreadable policy file",
    "E006": "too many syntax errors",
    "E007": "nested too deeply",
    "E101": "unknown name",
    "E102": "duplicate definition",
    "E103": "unknown lifecycle stage",
    "E104": "unknown severity",
    "E105": "unreadable key",
    "E106": "predicate does not apply to the selection",
    "E107": "invalid threshold",
    "E108": "incomplete control",
    "E109": "invalid glob",
    "E110": "unknown risk",
    "E111": "import cycle",
    "E112": "pack parameter without a value",
    "E113": "declaration not allowed here",
    "E114": "value of the wrong type",
    "E116": "unknown artifact kind",
    "E117": "invalid date",
    "E118": "condition on a field the predicate schema does not have (a close name exists)",
    "E119": "two policy names in one evaluation",
    "E120": "a path that leaves the repository",
    "W201": "unused key",
    "W202": "unused role",
    "W203": "control waived for every subject",
    "W204": "predicate that can never hold or never fail",
    "W205": "pack imported by no policy",
    "W206": "lifecycle stage with no steps declared",
    "W207": "condition on a field the predicate schema does not have",
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    help: str | None = None

    @property
    def level(self) -> Level:
        return Level.WARNING if self.code.startswith("W") else Level.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        if self.span is None:
            return ("", 0, 0, self.code)
        return (self.span.file, self.span.line, self.span.column, self.code)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.level is Level.ERROR for d in diagnostics)


def shown_line(line: str) -> str:
    """``line`` safe for a terminal: a tab or other unprintable character shows as one space."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else " " for c in line)


MAX_SHOWN_COLUMNS = 160  # a longer source line is shown as a window around the caret


def render(diagnostic: Diagnostic, sources: Mapping[str, str]) -> str:
    """Render one diagnostic with its location, source line and caret, and help."""
    lines = [f"{diagnostic.level.value}[{diagnostic.code}]: {diagnostic.message}"]
    span = diagnostic.span
    if span is not None:
        lines.append(f"  --> {span}")
        text = sources.get(span.file)
        # Lines as the parser counts them: only "\n" ends one (not "\x1d", "\x85", "\u2028").
        source_lines = text.split("\n") if text is not None else []
        if 0 < span.line <= len(source_lines):
            lines += _excerpt(span, source_lines[span.line - 1].removesuffix("\r"))
    if diagnostic.help:
        width = len(str(span.line)) if span is not None else 1
        lines.append(f"{' ' * (width + 1)}= help: {diagnostic.help}")
    return "\n".join(lines)


def _excerpt(span: Span, line: str) -> list[str]:
    """The source line and its carets; a long line only around the span, marked `...`."""
    source = shown_line(line)
    column = span.column
    end = span.end_column if span.end_line == span.line else len(source) + 1
    if len(source) > MAX_SHOWN_COLUMNS:
        start = max(0, column - 1 - MAX_SHOWN_COLUMNS // 4)
        window = source[start : start + MAX_SHOWN_COLUMNS]
        before = "..." if start else ""
        after = "..." if start + MAX_SHOWN_COLUMNS < len(source) else ""
        source = before + window + after
        column += len(before) - start
        end = min(end + len(before) - start, len(before) + len(window) + 1)
    width = len(str(span.line))
    carets = "^" * max(1, end - column)
    return [
        f"{' ' * width} |",
        f"{span.line} | {source}",
        f"{' ' * width} | {' ' * (column - 1)}{carets}",
    ]


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> str:
    ordered = sorted(diagnostics, key=Diagnostic.sort_key)
    return "\n\n".join(render(d, sources) for d in ordered)
