"""Bounded, strict JSON: size and nesting limits, no duplicate keys, errors located.

Every error is an :class:`~policy_engine.errors.InputError` located at the file,
with the line (and column) when one is known: ``file:line:column`` for a whole
JSON document, ``file:line`` for a line of a JSON-Lines bundle.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from policy_engine.errors import InputError
from policy_engine.graph.paths import shown

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
            data = handle.read(limit + 1)
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
        document = json.loads(
            data,
            object_pairs_hook=_no_duplicates,
            parse_int=_number(int),
            parse_float=_number(float),
        )
    except json.JSONDecodeError as exc:
        if what or line:
            detail = f" at column {exc.colno}" if line and not what else ""
            raise InputError(f"{prefix}invalid JSON: {exc.msg}{detail}", where) from None
        raise InputError(f"invalid JSON: {exc.msg}", f"{file}:{exc.lineno}:{exc.colno}") from None
    except _DuplicateKey as exc:
        raise InputError(f"{prefix}duplicate JSON key `{shown(str(exc))}`", where) from None
    except _LongNumber:
        raise InputError(
            f"{prefix}JSON number longer than {MAX_NUMBER_CHARS} characters", where
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{prefix}JSON is not valid UTF-8", where) from None
    except RecursionError:
        raise InputError(too_deep, where) from None
    raw = data.encode() if isinstance(data, str) else data
    # Fewer brackets than the limit cannot nest deeper than it: skip the walk.
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > MAX_JSON_DEPTH and not _shallow(raw) and depth(document) > MAX_JSON_DEPTH:
        raise InputError(too_deep, where)
    return document


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def _shallow(raw: bytes) -> bool:
    """True only when ``raw`` (valid JSON) cannot nest deeper than :data:`MAX_JSON_DEPTH`.

    Its brackets (those in strings too), with empty pairs removed a pass at a time:
    a pass removes at most two levels (``{}``, then ``[]``), and brackets inside
    strings sit innermost, so emptied within half the limit means within the limit.
    Otherwise (unbalanced string brackets, or deep) the exact walk decides.
    """
    sequence = raw.translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH // 2):
        if not sequence:
            return True
        sequence = sequence.replace(b"{}", b"").replace(b"[]", b"")
    return not sequence


def depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
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
