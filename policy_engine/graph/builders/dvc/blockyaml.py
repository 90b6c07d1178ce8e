"""DVC YAML written in plain block style, read line by line (no node composed per scalar).

DVC writes ``dvc.lock`` in one block style, and most ``dvc.yaml`` files are
written so: one key or one list item per line, plain or single-quoted
scalars. A text wholly in that style is read here with one regular expression
per line and a stack of the open mappings and lists, which at scale is much
cheaper than libyaml's node and two marks per scalar. A line outside the style
(a comment, a blank line, a flow collection, a block or double-quoted scalar,
an anchor, a tag, a tab, a non-ASCII character, a key longer than a simple key
may be, a key without a value, a scalar written over two lines, an indentation
that opens no block) leaves the whole text to :mod:`.yamlload`'s libyaml parse
(:func:`read_block` returns None). Scalars are made by the caller's
``scalar`` (the tag resolution :mod:`.yamlload` uses), so the data is the data
libyaml's parse gives (tested against it and against DVC's own parser).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from policy_engine.graph.builders.dvc.lines import TOP

# A plain scalar in the style: ASCII word characters and ``./=+@-~``, single spaces
# inside, no indicator first (``-`` only before one of them), not a document marker;
# or a single-quoted text of printable ASCII, no quote in it (no control character:
# YAML folds a CR, libyaml breaks lines at NEL, DVC's parser refuses the others).
_WORD = "[A-Za-z0-9_./=+@~-]"
_PLAIN = rf"(?!\.\.\.|---)(?:[A-Za-z0-9_./~+]|-(?={_WORD})){_WORD}*+(?: {_WORD}++)*+"
_VALUE = rf"{_PLAIN}|'[ -&(-~]*'"
# (indent, "- ", key, value, item, other): a key and maybe its value, maybe after a list
# item's dash; a list item's scalar; or any other line (outside the style).
_LINE = re.compile(rf"( *)(?:(- )?({_VALUE}):(?: ({_VALUE}))?|- ({_VALUE}))\n|([^\n]*\n|[^\n]+)")
_MAX_KEY = 1000  # libyaml and DVC's parser take a plain key of at most 1024 characters
_CHUNK = 1 << 20  # characters matched per call, so the lines of a large file are not all held
_KEYS, _ITEMS = object(), object()  # lines :meth:`_Reader.read` places directly
Block = tuple[int, Any, bool]  # (column, the mapping or list, is a mapping)


def read_block(
    text: str, scalar: Callable[[str], Any], typed: frozenset[str]
) -> tuple[dict[Any, Any], dict[str, dict[str, int]]] | None:
    """The data of ``text`` and the lines of its keys (as :func:`.lines.document_lines`
    gives them); None: not wholly in the plain block style.

    ``scalar`` gives a plain scalar's data (it may raise for a text it leaves to
    others); a plain scalar whose first character is not in ``typed`` is text.
    """
    text = text if text.endswith("\n") else text + "\n"
    reader = _Reader(scalar, typed | {"'"})
    start = 0
    while start < len(text):
        end = text.find("\n", start + _CHUNK) + 1 or len(text)
        if not reader.read(_LINE.findall(text, start, end)):
            return None
        start = end
    return reader.result()


class _Reader:
    """The open blocks, innermost last, and a key waiting for its block (``pending``)."""

    def __init__(self, scalar: Callable[[str], Any], special: frozenset[str]) -> None:
        self.scalar = scalar
        self.special = special  # the first characters of a scalar that is not its own text
        self.data: dict[Any, Any] = {}
        self.stack: list[Block] = [(0, self.data, True)]
        self.pending: tuple[Any, Any, int] | None = None
        self.keys: dict[str, Any] = {}
        self.lines: dict[str, dict[str, int]] = {}
        self.section = ""  # the text of the latest top-level key
        self.number = 0  # lines read

    def result(self) -> tuple[dict[Any, Any], dict[str, dict[str, int]]] | None:
        if self.pending is not None or not self.data:
            return None  # a key without a value, or no key at all
        return self.data, self.lines

    def read(self, lines: list[tuple[str, str, str, str, str, str]]) -> bool:
        """Place ``lines``; False at the first one outside the style.

        Most lines are a key and its scalar in the innermost mapping (below the
        levels whose keys' lines are kept), a scalar item of the innermost list,
        or a list item's first key and scalar after the item before it: placed
        here directly.
        """
        keys, special, data_of, stack = self.keys, self.special, self.data_of, self.stack
        column, into, fast, items = self._innermost()
        for number, (indent, dash, key, value, item, other) in enumerate(lines, self.number + 1):
            if fast is _KEYS and value and len(indent) == column and not dash:
                name = keys[key] if key in keys else self.key(key)
                if name in into:
                    return False  # a duplicate key: DVC's parser refuses it
                into[name] = data_of(value) if value[0] in special else value
                continue
            if items is not None and value and dash and len(indent) == column - 2:
                name = keys[key] if key in keys else self.key(key)
                into = {name: data_of(value) if value[0] in special else value}
                items.append(into)
                stack[-1] = (column, into, True)  # the item before it ends
                continue
            if fast is _ITEMS and item and len(indent) == column:
                into.append(data_of(item) if item[0] in special else item)
                continue
            if other or not self.place(len(indent), bool(dash or item), key, value or item, number):
                return False
            column, into, fast, items = self._innermost()
        self.number += len(lines)
        return True

    def _innermost(self) -> tuple[int, Any, object, list[Any] | None]:
        """The innermost block, which of its lines :meth:`read` places directly, and the list
        whose item it is (when it is a mapping after an item's dash)."""
        column, into, is_map = self.stack[-1]
        if self.pending is not None:
            return column, into, None, None
        if not is_map:
            return column, into, _ITEMS, None
        if len(self.stack) < 3:
            return column, into, None, None
        above, holder, holds_map = self.stack[-2]
        return column, into, _KEYS, holder if not holds_map and above == column - 2 else None

    def place(self, column: int, dash: bool, key: str, value: str, number: int) -> bool:
        """Place one line at ``column`` (the column of its dash if ``dash``)."""
        pending, self.pending = self.pending, None
        if not (self.nest(pending, column, dash) if pending else self.close(column, dash)):
            return False
        into = self.stack[-1][1]
        if dash and not key:
            into.append(self.data_of(value))
            return True
        if dash:  # a mapping in a list item, its first key after the dash
            mapping: dict[Any, Any] = {}
            into.append(mapping)
            column += 2
            self.stack.append((column, mapping, True))
            into = mapping
        return self.entry(into, key, value, column, number)

    def nest(self, pending: tuple[Any, Any, int], column: int, dash: bool) -> bool:
        """Open the block of the pending key: a list at its column or deeper, a mapping deeper."""
        into, name, at = pending
        if column < at or (column == at and not dash):
            return False
        block: list[Any] | dict[Any, Any] = [] if dash else {}
        into[name] = block
        self.stack.append((column, block, not dash))
        return True

    def close(self, column: int, dash: bool) -> bool:
        """Close the blocks the line is not in; whether it then belongs to the innermost."""
        stack = self.stack
        while stack[-1][0] > column or (stack[-1][0] == column and not stack[-1][2] and not dash):
            stack.pop()  # never the top mapping (column 0)
        at, _, is_map = stack[-1]
        return at == column and is_map != dash

    def entry(self, into: dict[Any, Any], key: str, value: str, column: int, number: int) -> bool:
        """Key ``key`` of mapping ``into`` with scalar ``value``, or waiting for its block."""
        name = self.key(key)
        if name in into:
            return False
        depth, text = len(self.stack), key[1:-1] if key[0] == "'" else key
        if depth == 1:
            self.lines.setdefault(TOP, {})[text] = number
            self.section = text
        elif depth == 2 and self.stack[1][2]:
            self.lines.setdefault(self.section, {})[text] = number
        if value:
            into[name] = self.data_of(value)
        else:
            self.pending = (into, name, column)
        return True

    def key(self, text: str) -> Any:
        """A key's data, made once per text; a key too long to be a simple key is refused."""
        if len(text) > _MAX_KEY:
            raise ValueError("a key longer than a simple key")
        self.keys[text] = name = self.data_of(text)
        return name

    def data_of(self, text: str) -> Any:
        """A scalar's data: a single-quoted one's text, a plain one's as ``scalar`` gives it."""
        return text[1:-1] if text[0] == "'" else self.scalar(text)
