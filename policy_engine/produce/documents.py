"""Reading a predicate file: JSON or YAML, safely, bounded, into plain JSON values.

A ``.json`` file is strict JSON (no duplicate keys, nesting bounded); anything
else is YAML read by the safe loader (the C one when present), with aliases
refused (no expansion bombs). The result must be an object whose keys are
strings and whose values JSON can represent: YAML timestamps become ISO-8601
strings (UTC ``Z`` when they carry no zone), and binary values, sets,
non-finite numbers and non-string keys are refused.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from policy_engine.errors import InputError
from policy_engine.inputs import (
    MAX_JSON_DEPTH,
    depth,
    loads,
    read_bytes,
)

MAX_PREDICATE_FILE_BYTES = 1024 * 1024
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_predicate(path: Path) -> dict[str, Any]:
    """The predicate object in ``path`` (JSON or YAML); an :class:`InputError` otherwise."""
    file = str(path)
    data = read_bytes(path, file, MAX_PREDICATE_FILE_BYTES)
    document = loads(data, file) if path.suffix.lower() == ".json" else _yaml(data, file)
    if not isinstance(document, dict):
        raise InputError("the predicate must be an object (a mapping of fields)", file)
    predicate: dict[str, Any] = jsonable(document, file)
    return predicate


def _yaml(data: bytes, file: str) -> Any:
    try:
        text = data.decode("utf-8")
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise InputError("YAML aliases (`*name`) are not allowed in a predicate", file)
        document = yaml.load(text, Loader=_YAML_LOADER)  # a safe loader
    except UnicodeDecodeError:
        raise InputError("the predicate file is not UTF-8", file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"invalid YAML: {problem}", where) from None
    if depth(document) > MAX_JSON_DEPTH:
        raise InputError(f"the predicate nests deeper than {MAX_JSON_DEPTH} levels", file)
    return document


def jsonable(value: Any, file: str, where: str = "predicate") -> Any:
    """``value`` as plain JSON values (see the module doc); raises for what JSON cannot hold."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"`{where}` has a key that is not a string: `{key!r}`", file)
            result[key] = jsonable(item, file, f"{where}.{key}")
        return result
    if isinstance(value, list):
        return [jsonable(item, file, f"{where}.{i}") for i, item in enumerate(value)]
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return iso_utc(moment)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"`{where}` is not a finite number", file)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise InputError(f"`{where}` is a {type(value).__name__}, which JSON cannot hold", file)


def iso_utc(moment: datetime) -> str:
    """``moment`` in UTC as ISO-8601 with a ``Z`` (microseconds only when there are some)."""
    text = moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    return f"{text}Z"
