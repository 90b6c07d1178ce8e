"""Canonical JSON (OLPC, as securesystemslib encodes it): the bytes a Metablock signature covers.

securesystemslib's ``encode_canonical`` walks the document in Python. For the
documents signatures are made over (no floats, no control character, quote or
backslash in any string), the standard library's encoder with sorted keys and
no whitespace writes the same bytes, in C. Whether a document is one of those
is read off that encoder's own output: without a backslash no string needed
escaping, so splitting at quotes separates the strings from the structure, and
the structure holds a float only if it has ``.``, an exponent, ``Infinity`` or
``NaN``. Any other document goes to ``encode_canonical`` itself (which refuses
floats). ``tests/supplychain/test_canonical.py`` checks the bytes are the same.
"""

from __future__ import annotations

import json
from typing import Any

_FLOAT_MARKS = (".", "e", "E", "I", "N")


def canonical_bytes(document: Any) -> bytes:
    """The canonical JSON of ``document``, UTF-8 encoded; raises ``FormatError`` for floats."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if not _plain(text):
        from securesystemslib.formats import encode_canonical

        # Typed `str | None`: None only when an output_function is given.
        text = encode_canonical(document)  # type: ignore[assignment]
    return text.encode("utf-8")


def _plain(text: str) -> bool:
    """The standard encoding ``text`` is canonical: nothing escaped, no float (see above)."""
    if "\\" in text:
        return False
    structure = "".join(text.split('"')[::2]).replace("true", "").replace("false", "")
    return not any(mark in structure for mark in _FLOAT_MARKS)
