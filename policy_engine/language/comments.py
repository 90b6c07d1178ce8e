"""Comments of a policy file, and where a formatted file puts them.

The lexer drops ``#`` comments, so :func:`scan_comments` finds them again with
a small scanner that skips strings (a string never spans lines). The printer
lays a module out as :class:`Item` lines; :func:`attach` gives every comment
to one item:

- a trailing comment (code before it on its line) to the item that ends last
  on that line before it, else to the block whose header is on that line;
- any other comment to the item whose lines contain it, else to the next item
  that starts after it, else to the end of its block (before ``}``) or of the
  file.

Attachment happens at the innermost level: inside a block, among its items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policy_engine.diagnostics import Span


@dataclass(frozen=True)
class Comment:
    """One ``#`` comment: 1-based position, text from ``#`` (trailing blanks stripped)."""

    line: int
    column: int
    text: str
    own_line: bool
    blank_before: bool = False
    blank_after: bool = False


@dataclass
class Item:
    """A printed line, or a block (``text {``, indented children, ``}``), with its comments.

    ``start`` and ``end`` are the (line, column) of the source the item came
    from; ``(0, 0)`` when it has none.
    """

    text: str
    kind: str
    start: tuple[int, int] = (0, 0)
    end: tuple[int, int] = (0, 0)
    children: list[Item] | None = None
    leading: list[Comment] = field(default_factory=list)
    trailing: Comment | None = None
    header: Comment | None = None
    footer: list[Comment] = field(default_factory=list)


def scan_line(line: str) -> tuple[str, int | None]:
    """``line``'s code outside strings and comments (string bodies dropped), and the
    0-based column of the ``#`` that opens its comment, if any."""
    code: list[str] = []
    in_string, escaped = False, False
    for column, c in enumerate(line):
        if in_string:
            in_string = not (c == '"' and not escaped)
            escaped = c == "\\" and not escaped
        elif c == '"':
            in_string = True
        elif c == "#":
            return "".join(code), column
        else:
            code.append(c)
    return "".join(code), None


def scan_comments(text: str) -> list[Comment]:
    """Every comment of ``text`` in source order; lines counted as the lexer does (``\\n``)."""
    lines = text.split("\n")
    found: list[Comment] = []
    for index, line in enumerate(lines):
        column = scan_line(line)[1]
        if column is None:
            continue
        before = index > 0 and not lines[index - 1].strip()
        after = index + 1 < len(lines) and not lines[index + 1].strip()
        found.append(
            Comment(
                line=index + 1,
                column=column + 1,
                text=line[column:].rstrip(),
                own_line=not line[:column].strip(),
                blank_before=before,
                blank_after=after,
            )
        )
    return found


def span_range(*spans: Span) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (start, end) positions covering ``spans``; ``(0, 0)`` twice when none is known."""
    known = [s for s in spans if s.line > 0]
    if not known:
        return (0, 0), (0, 0)
    start = min((s.line, s.column) for s in known)
    end = max((s.end_line, s.end_column) for s in known)
    return start, end


def _walk(items: list[Item]) -> list[Item]:
    out: list[Item] = []
    for item in items:
        out.append(item)
        out.extend(_walk(item.children or []))
    return out


def _ending_on(comment: Comment, items: list[Item]) -> Item | None:
    """The item ending last on the comment's line, before the comment."""
    ends = [
        i
        for i in _walk(items)
        if i.end[0] == comment.line and i.end[1] <= comment.column and i.trailing is None
    ]
    return max(ends, key=lambda i: i.end, default=None)


def _opening_on(comment: Comment, items: list[Item]) -> Item | None:
    """The block whose header is on the comment's line."""
    for item in items:
        if item.children is not None and item.start[0] == comment.line and item.header is None:
            return item
    return None


def _place_inside(comment: Comment, items: list[Item], footer: list[Comment]) -> None:
    line = comment.line
    for item in items:
        if item.start[0] <= line <= item.end[0]:
            if item.children is not None and item.start[0] < line < item.end[0]:
                _place_inside(comment, item.children, item.footer)
            else:
                item.leading.append(comment)
            return
    following = [i for i in items if i.start[0] > line]
    if following:
        min(following, key=lambda i: i.start).leading.append(comment)
    else:
        footer.append(comment)


def attach(comments: list[Comment], items: list[Item]) -> list[Comment]:
    """Give each comment to one item (see the module docstring); return the file's end comments."""
    end_of_file: list[Comment] = []
    for comment in comments:
        if not comment.own_line:
            ending = _ending_on(comment, items)
            if ending is not None:
                ending.trailing = comment
                continue
            block = _opening_on(comment, items)
            if block is not None:
                block.header = comment
                continue
        _place_inside(comment, items, end_of_file)
    return end_of_file
