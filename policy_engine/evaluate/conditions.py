"""Comparisons of document fields (attestation predicates, step fields, params) with values.

Numbers compare as numbers; dates and durations compare with ISO-8601 text or
seconds in the document; text compares for (in)equality only. A field that
is missing, or of a type that cannot be compared, makes the comparison false
(fail closed), and the reason says so.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from policy_engine.compiler import ir

MISSING = object()
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def lookup(document: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path (list items by index), or ``MISSING``."""
    value = document
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def _coerce(found: Any, wanted: ir.Value) -> Any:
    """``found`` (from JSON/YAML) as the type of ``wanted``, or ``MISSING`` if impossible."""
    if isinstance(wanted, bool) or isinstance(found, bool):
        return found if isinstance(found, bool) and isinstance(wanted, bool) else MISSING
    if isinstance(wanted, (int, float)):
        return found if isinstance(found, (int, float)) else MISSING
    if isinstance(wanted, timedelta):
        return timedelta(seconds=found) if isinstance(found, (int, float)) else MISSING
    if isinstance(wanted, date):
        return _as_date(found)
    return found if isinstance(found, str) else MISSING


def _as_date(found: Any) -> Any:
    if not isinstance(found, str):
        return MISSING
    try:
        return datetime.fromisoformat(found.replace("Z", "+00:00")).date()
    except ValueError:
        return MISSING


def compare(found: Any, op: str, wanted: ir.Value) -> bool:
    """``found OP wanted`` with the coercions above; False when not comparable."""
    if isinstance(wanted, tuple):
        return op in ("==", "!=") and OPS[op](
            tuple(found) if isinstance(found, list) else found, wanted
        )
    value = _coerce(found, wanted)
    if value is MISSING:
        return op == "!=" and found is not MISSING
    return OPS[op](value, wanted)


def check(document: Any, condition: ir.Condition) -> tuple[bool, str]:
    """Whether ``condition`` holds on ``document``, and a reason in words."""
    name = ".".join(condition.field)
    found = lookup(document, condition.field)
    if isinstance(condition, ir.Exists):
        present = found is not MISSING
        return present == condition.present, f"`{name}` is {'present' if present else 'absent'}"
    if found is MISSING:
        return False, f"`{name}` is absent"
    if isinstance(condition, ir.Member):
        ok = any(compare(found, "==", option) for option in condition.options)
        return ok, f"`{name}` is {_show(found)}"
    ok = compare(found, condition.op, condition.value)
    return ok, f"`{name}` is {_show(found)}"


def describe(condition: ir.Condition) -> str:
    """The condition as written, e.g. ``calibration.ece < 0.05``."""
    name = ".".join(condition.field)
    if isinstance(condition, ir.Exists):
        return f"{name} {'exists' if condition.present else 'not exists'}"
    if isinstance(condition, ir.Member):
        return f"{name} in [{', '.join(_show(o) for o in condition.options)}]"
    return f"{name} {condition.op} {_show(condition.value)}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())}s"
    return str(value)
