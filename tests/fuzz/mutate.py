"""Mutating valid documents: the loaders' fuzz targets start from real shapes, so inputs
reach schema checks, signatures and the builders rather than stop at the parser.

A document is JSON-like data (dicts, lists, scalars). :func:`mutate` draws a few
edits at random places of a copy: a value replaced by an odd one, a key removed or
added, a subtree wrapped or repeated (the same object twice: YAML writes it as an
alias). :func:`mutate_bytes` edits serialised text: tokens inserted, slices cut or
repeated, bytes replaced.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

Path = tuple[Any, ...]

ODD_STRINGS = (
    "",
    " ",
    "${a}",
    "${item}",
    "${key}",
    "${item.x}",
    "${prepare.seed}",
    "${ vars }",
    "${{x}}",
    "${",
    "}",
    "\\${a}",
    "a\x00b",
    "../../etc/passwd",
    "/etc/passwd",
    "C:\\x",
    "~",
    "*",
    "**/",
    ".",
    "..",
    "a/../../b",
    "x" * 5000,
    "é\u2028\x85",
    "\x1b[31m",
    "md5",
    "sha256",
    "0" * 32,
    "0" * 32 + ".dir",
    "0" * 64,
    "s3://bucket/x",
    "https://example.com/x",
    "2026-13-45T99:00:00Z",
    "1e999",
    "-1",
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from((10**400, -(10**400), 2**63, -(2**63) - 1)),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)

TOKENS = (
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"!!python/object/apply:os.system ",
    b"!!binary ",
    b"!!str ",
    b"!!int ",
    b"\t",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"{",
    b"}",
    b"[",
    b"]",
    b"? ",
    b"- ",
    b": ",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"'",
    b'"',
    b"\\",
    b"${",
    b"${item}",
    b"\n",
    b"\r",
    b"#",
    b"|",
    b">",
    b"9" * 400,
    b".inf",
    b".nan",
    b"0x1F",
    b"~",
    b",",
    b"null",
    b"true",
    b"\\u0000",
    b"\\ud800",
)


def _alias_bomb(depth: int, width: int) -> bytes:
    """Nested YAML anchors, each level naming the previous one ``width`` times."""
    lines = ["a0: &a0 [x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth)]
    return ("\n".join(lines) + "\n").encode()


alias_bombs = st.builds(_alias_bomb, st.integers(1, 12), st.integers(1, 12))
OPERATIONS = st.sampled_from(("replace", "delete", "add", "wrap", "repeat", "empty"))
BYTE_OPERATIONS = st.sampled_from(("insert", "cut", "repeat", "replace"))
INSERTED = st.sampled_from(TOKENS) | st.binary(max_size=8)
REPLACED = st.binary(min_size=1, max_size=4)


@functools.lru_cache(maxsize=64)
def _new_keys(keys: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Keys to add: the document kind's own, or any short text (built once per kind)."""
    return st.sampled_from(keys or ("a",)) | st.text(max_size=8)


def paths(document: Any, prefix: Path = ()) -> list[Path]:
    """Every place in ``document`` (the root is ``()``)."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


def _containers(document: Any) -> set[int]:
    """The identities of the dicts and lists in ``document``, itself included."""
    if not isinstance(document, (dict, list)):
        return set()
    found = {id(document)}
    for value in document.values() if isinstance(document, dict) else document:
        found |= _containers(value)
    return found


def _get(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def _set(document: Any, path: Path, value: Any) -> Any:
    """``document`` with ``value`` at ``path`` (at ``()``: ``value`` is the new root)."""
    if not path:
        return value
    _get(document, path[:-1])[path[-1]] = value
    return document


def mutate(data: st.DataObject, document: Any, keys: Sequence[str] = (), edits: int = 4) -> Any:
    """A copy of ``document`` with up to ``edits`` random edits; ``keys`` are keys to add."""
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(1, edits), label="edits")):
        path = data.draw(st.sampled_from(paths(document)), label="at")
        document = _edit(data, document, path, keys)
    return document


def _edit(data: st.DataObject, document: Any, path: Path, keys: Sequence[str]) -> Any:
    here = _get(document, path)
    operation = data.draw(OPERATIONS, label="op")
    if operation == "replace":
        return _set(document, path, data.draw(values))
    if operation == "delete" and path:
        del _get(document, path[:-1])[path[-1]]
        return document
    if operation == "add" and isinstance(here, dict):
        key = data.draw(_new_keys(tuple(keys)))
        here[key] = data.draw(values)
        return document
    if operation == "add" and isinstance(here, list):
        here.append(data.draw(values))
        return document
    if operation == "wrap":
        wrapped = (
            [here]
            if data.draw(st.booleans())
            else {data.draw(st.sampled_from(keys or ("a",))): here}
        )
        return _set(document, path, wrapped)
    if operation == "repeat" and isinstance(here, (dict, list)):
        target = data.draw(st.sampled_from(paths(document)), label="to")
        if not target or id(_get(document, target[:-1])) not in _containers(here):
            return _set(document, target, here)  # the same object twice: a YAML alias
    if operation == "empty":
        return _set(document, path, type(here)() if isinstance(here, (dict, list, str)) else None)
    return document


def mutate_bytes(data: st.DataObject, text: bytes, edits: int = 4) -> bytes:
    """``text`` with up to ``edits`` byte-level edits."""
    for _ in range(data.draw(st.integers(1, edits), label="byte edits")):
        at = data.draw(st.integers(0, len(text)), label="offset")
        size = data.draw(st.integers(0, 16), label="size")
        operation = data.draw(BYTE_OPERATIONS, label="op")
        if operation == "insert":
            token = data.draw(INSERTED)
            text = text[:at] + token + text[at:]
        elif operation == "cut":
            text = text[:at] + text[at + size :]
        elif operation == "repeat":
            text = text[:at] + text[at : at + size] * data.draw(st.integers(2, 50)) + text[at:]
        else:
            text = text[:at] + data.draw(REPLACED) + text[at + 1 :]
    return text
