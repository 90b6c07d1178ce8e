"""Canonical JSON (OLPC, as securesystemslib encodes it): the bytes a Metablock signature covers.

securesystemslib's ``encode_canonical`` walks the document in Python. For the
documents signatures are made over (no floats, no control character, quote or
backslash in any string), a compact encoder with sorted keys writes the same
bytes: orjson, in one call, for a document parsed from JSON (its keys sorted by
code point as Python sorts them; an integer beyond 64 bits, a lone surrogate or
any other type makes it refuse), else the standard library's encoder. Whether a
document is one of those is read off the encoder's own output: without a
backslash no string needed escaping, so splitting at quotes separates the
strings from the structure, and the structure of such a document is brackets,
``:``, ``,``, integers, ``true`` and ``false`` only: anything else (a float's
``.`` or exponent, ``Infinity``, ``NaN``, or a ``null``, which orjson writes
for a NaN or an infinity) sends the document to the standard encoder. Any
other document goes to ``encode_canonical`` itself (which refuses floats).
``tests/supplychain/test_canonical.py`` checks the bytes are the same.
"""

from __future__ import annotations

import json
from typing import Any

_FLOAT_MARKS = (".", "e", "E", "I", "N")
_PLAIN_STRUCTURE = b"{}[]:,-0123456789"  # and ``true``, ``false``: orjson's plain output


def canonical_bytes(document: Any) -> bytes:
    """The canonical JSON of ``document``, UTF-8 encoded; raises ``FormatError`` for floats."""
    fast = _orjson_bytes(document)
    if fast is not None:
        return fast
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if not _plain(text):
        from securesystemslib.formats import encode_canonical

        # Typed `str | None`: None only when an output_function is given.
        text = encode_canonical(document)  # type: ignore[assignment]
    return text.encode("utf-8")


def _orjson_bytes(document: Any) -> bytes | None:
    """orjson's sorted compact encoding of ``document`` when it is canonical, else None."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency on CPython only
        return None
    options = (  # types JSON has no word for are refused, not converted
        orjson.OPT_SORT_KEYS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
    )
    try:
        data = orjson.dumps(document, option=options)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if b"\\" in data:
        return None
    words = b"".join(data.split(b'"')[::2]).translate(None, _PLAIN_STRUCTURE)
    plain = not words or not words.replace(b"true", b"").replace(b"false", b"")
    return data if plain else None


def _plain(text: str) -> bool:
    """The standard encoding ``text`` is canonical: nothing escaped, no float (see above)."""
    if "\\" in text:
        return False
    structure = "".join(text.split('"')[::2]).replace("true", "").replace("false", "")
    return not any(mark in structure for mark in _FLOAT_MARKS)
