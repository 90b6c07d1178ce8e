"""Timestamps in attestations: RFC 3339, read the same way on every Python version.

``Z`` or a numeric offset; fractions of a second are read to the microsecond
(Go writes nanoseconds: the rest is truncated); a timestamp without an offset is taken as UTC.
Anything else is an ``InputError``: a time that cannot be read cannot be judged.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from policy_engine.errors import InputError

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: object, where: str, field: str) -> datetime:
    """The aware datetime of ``value`` (field ``field`` of the document at ``where``)."""
    if not isinstance(value, str):
        raise InputError(f"`{field}` must be an RFC 3339 timestamp string", where)
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], value.strip(), count=1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"`{field}` is not an RFC 3339 timestamp: `{value}`", where) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
