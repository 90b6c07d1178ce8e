"""Bounded, strict JSON: size and nesting limits, no duplicate keys, errors located.

Every error is an :class:`~policy_engine.errors.InputError` located at the file,
with the line (and column) when one is known: ``file:line:column`` for a whole
JSON document, ``file:line`` for a line of a JSON-Lines bundle.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from policy_engine.errors import InputError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_NUMBER_CHARS = 100


def read_bytes(path: Path, file: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (checked before and while reading)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a regular file", file)
        if info.st_size > limit:
            raise InputError(f"file is larger than {limit} bytes", file)
        with open(path, "rb") as handle:
            # The size stat gave and a byte more (a buffer of the limit costs more than
            # the read); a file that grew since is read on, up to the limit.
            data = handle.read(info.st_size + 1)
            if len(data) > info.st_size:
                data += handle.read(limit + 1 - len(data))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file) from None
    if len(data) > limit:
        raise InputError(f"file is larger than {limit} bytes", file)
    return data


class _DuplicateKey(ValueError):
    pass


class _LongNumber(ValueError):
    pass


def _number(parse: type[int] | type[float]) -> Any:
    """A ``json`` number hook refusing numbers longer than :data:`MAX_NUMBER_CHARS`."""

    def hook(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise _LongNumber
        return parse(text)

    return hook


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def loads(data: bytes | str, file: str, what: str = "", line: int | None = None) -> Any:
    """Parse JSON rejecting duplicate keys and nesting deeper than :data:`MAX_JSON_DEPTH`.

    ``what`` names an embedded document (e.g. ``DSSE payload``) and prefixes the
    message; ``line`` is the line of ``data`` in a JSON-Lines file. Without
    either, a syntax error is located at ``file:line:column``.
    """
    prefix = f"{what}: " if what else ""
    where = f"{file}:{line}" if line else file
    too_deep = f"{prefix}JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        document = _without_duplicates(data)
    except json.JSONDecodeError as exc:
        if what or line:
            detail = f" at column {exc.colno}" if line and not what else ""
            raise InputError(f"{prefix}invalid JSON: {exc.msg}{detail}", where) from None
        raise InputError(f"invalid JSON: {exc.msg}", f"{file}:{exc.lineno}:{exc.colno}") from None
    except _DuplicateKey as exc:
        raise InputError(f"{prefix}duplicate JSON key `{exc}`", where) from None
    except _LongNumber:
        raise InputError(
            f"{prefix}JSON number longer than {MAX_NUMBER_CHARS} characters", where
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{prefix}JSON is not valid UTF-8", where) from None
    except RecursionError:
        raise InputError(too_deep, where) from None
    raw = data.encode() if isinstance(data, str) else data
    if _too_deep(raw, document):
        raise InputError(too_deep, where)
    return document


def _too_deep(raw: bytes, document: Any) -> bool:
    """Whether ``document``, read from ``raw``, nests deeper than :data:`MAX_JSON_DEPTH`.

    A document of few values (an envelope around a large payload) is walked; for
    others, brackets that cannot nest deeper than the limit spare the walk.
    """
    few = _depth(document, _FEW_VALUES)
    if few is not None:
        return few > MAX_JSON_DEPTH
    return not _shallow(raw.translate(None, _NOT_BRACKETS)) and depth(document) > MAX_JSON_DEPTH


_FEW_VALUES = 64


def _without_duplicates(data: bytes | str) -> Any:
    """``json.loads`` with the number limits, refusing duplicate keys (``_DuplicateKey``).

    A hook seeing every object's pairs costs a Python call per object; when
    :func:`_fast` can vouch for its document, that is the answer instead.
    """
    if isinstance(data, bytes):
        document = _fast(data)
        if document is not _UNSURE:
            return document
    numbers = {"parse_int": _number(int), "parse_float": _number(float)}
    return json.loads(data, object_pairs_hook=_no_duplicates, **numbers)


_UNSURE = object()
_WHITESPACE = b" \t\n\r"


def _fast(data: bytes) -> Any:
    """The document of ``data`` as the hooked ``json.loads`` reads it, or ``_UNSURE``.

    orjson parses it (refusing what the standard library refuses, and more); written
    again by orjson, it must give the text back but for whitespace. Whitespace is
    never part of an escape, so both texts then hold the same tokens: the same keys
    (none dropped as a repeat), strings that read the same, and the same numbers,
    each as orjson writes its value: an integer within 64 bits, or a float's
    shortest round-trip form, which ``float`` reads back to the same value (a
    longer number, or an integer orjson turns into a float, is written otherwise).
    ``tests/graph/test_jsonio_fast.py`` checks the answers are the same.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency on CPython only
        return _UNSURE
    try:
        document = orjson.loads(data)
        written = orjson.dumps(document)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return _UNSURE
    text = _squeezed(data)  # written has whitespace only in strings: squeezed when it must be
    return document if written == text or _squeezed(written) == text else _UNSURE


def _squeezed(text: bytes) -> bytes:
    """``text`` without JSON whitespace (spaces and newlines cut out by memchr, not per byte)."""
    if b"\t" in text or b"\r" in text:
        return text.translate(None, _WHITESPACE)
    if b" " in text:
        text = text.replace(b" ", b"")
    return text.replace(b"\n", b"") if b"\n" in text else text


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def _shallow(sequence: bytes) -> bool:
    """True only when the ``sequence`` of brackets of valid JSON (those in strings too) cannot
    nest deeper than :data:`MAX_JSON_DEPTH`.

    Fewer brackets than the limit cannot. Else empty pairs are removed a pass at a
    time: a pass removes at most two levels (``{}``, then ``[]``), and brackets
    inside strings sit innermost, so emptied within half the limit means within the
    limit. Otherwise (unbalanced string brackets, or deep) the exact walk decides.
    """
    if len(sequence) <= MAX_JSON_DEPTH:
        return True
    for _ in range(MAX_JSON_DEPTH // 2):
        if not sequence:
            return True
        sequence = sequence.replace(b"{}", b"").replace(b"[]", b"")
    return not sequence


def depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (a scalar is 0), without recursion."""
    found = _depth(document, math.inf)
    return 0 if found is None else found


def _depth(document: Any, budget: float) -> int | None:
    """:func:`depth`, or None when it would visit more than ``budget`` values."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
            budget -= len(value)
            if budget < 0:
                return None
            if level <= MAX_JSON_DEPTH:
                stack.extend((item, level + 1) for item in value)
    return deepest


def json_lines(data: bytes, file: str, first_line: int = 1) -> Iterator[tuple[int, Any]]:
    """(line number, document) for every non-blank line of JSON Lines starting at ``first_line``."""
    for number, text in enumerate(data.split(b"\n"), start=first_line):
        if text.strip():
            yield number, loads(text, file, line=number)


def is_extra_data(error: InputError) -> bool:
    """Whether parsing failed only because more JSON follows the first document."""
    return error.message == "invalid JSON: Extra data"
