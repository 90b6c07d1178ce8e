"""Canonical JSON (OLPC, as securesystemslib encodes it): the bytes a Metablock signature covers.

securesystemslib's ``encode_canonical`` walks the document in Python. For the
documents signatures are made over (no floats, no control characters in
strings), the standard library's encoder with sorted keys and no whitespace
writes the same bytes, in C; any other document goes to ``encode_canonical``
itself (which refuses floats).
"""

from __future__ import annotations

import json
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f]")


def canonical_bytes(document: Any) -> bytes:
    """The canonical JSON of ``document``, UTF-8 encoded; raises ``FormatError`` for floats."""
    if _plain(document):
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:
        from securesystemslib.formats import encode_canonical

        # Typed `str | None`: None only when an output_function is given.
        text = encode_canonical(document)  # type: ignore[assignment]
    return text.encode("utf-8")


def _plain(document: Any) -> bool:
    """No float anywhere, no control character in any string or key."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _CONTROL.search(value):
                return False
        elif isinstance(value, dict):
            if any(_CONTROL.search(key) for key in value):
                return False
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, float):
            return False
    return True
