"""In-toto Attestation Framework Statements (v0.1 and v1), validated with pydantic.

A Statement needs ``_type``, a non-empty ``subject`` whose every element has a
non-empty ``digest`` (and, in v0.1, a ``name``), and a ``predicateType``; the
``predicate`` is optional (an object). Unknown fields are ignored, as the
specification asks. Digest values are lower-cased when they are hexadecimal.

The predicate is kept so policies can query it, bounded: when its JSON is larger
than :data:`MAX_PREDICATE_BYTES`, top-level fields larger than
:data:`MAX_FIELD_BYTES` are left out, with a note naming them.

``issued_at`` comes from the first of these fields that is present (``null``
counts as absent), and must then be an RFC 3339 timestamp:

* SLSA provenance v0.2: ``metadata.buildFinishedOn``, ``metadata.buildStartedOn``;
* SLSA provenance v1: ``runDetails.metadata.finishedOn``, ``…startedOn``;
* vulnerability scans (``…/attestation/vuln…``): ``metadata.scanFinishedOn``,
  ``metadata.scanStartedOn``;
* any predicate (test results and others): a top-level ``timestamp``,
  ``createdAt``, ``timeCreated`` (SVR) or ``timeVerified`` (VSA).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations import slsa
from policy_engine.graph.builders.attestations.resources import Resource, describe, resource
from policy_engine.graph.builders.attestations.timestamps import parse_time

MAX_PREDICATE_BYTES = 64 * 1024
MAX_FIELD_BYTES = 4 * 1024
_TIME_FIELDS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    (slsa.SLSA_V02, (("metadata", "buildFinishedOn"), ("metadata", "buildStartedOn"))),
    (
        slsa.SLSA_V1,
        (("runDetails", "metadata", "finishedOn"), ("runDetails", "metadata", "startedOn")),
    ),
    (
        "https://in-toto.io/attestation/vuln",
        (("metadata", "scanFinishedOn"), ("metadata", "scanStartedOn")),
    ),
    ("", (("timestamp",), ("createdAt",), ("timeCreated",), ("timeVerified",))),
)


class _Descriptor(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr | None = None
    uri: StrictStr | None = None
    digest: dict[StrictStr, StrictStr] | None = None


class _Statement(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: StrictStr = Field(alias="_type")
    subject: list[_Descriptor] = Field(min_length=1)
    predicateType: StrictStr = Field(min_length=1)
    predicate: dict[str, Any] | None = None


@dataclass(frozen=True)
class Statement:
    """A validated Statement: its type, subjects, predicate (bounded) and issue time."""

    statement_type: str
    predicate_type: str
    predicate: Mapping[str, Any]
    subjects: tuple[Resource, ...]
    issued_at: datetime | None
    build: slsa.Build | None
    notes: tuple[str, ...] = ()


def parse_statement(document: Mapping[str, Any], where: str) -> Statement:
    """Validate a Statement document; ``where`` (``file`` or ``file:line``) locates errors."""
    try:
        model = _Statement.model_validate(document)
    except ValidationError as exc:
        raise InputError(f"invalid in-toto Statement: {describe(exc)}", where) from None
    v01 = model.type.endswith("/v0.1")
    subjects = tuple(_subject(d, i, v01, where) for i, d in enumerate(model.subject))
    predicate = model.predicate or {}
    kept, notes = bounded(predicate)
    return Statement(
        statement_type=model.type,
        predicate_type=model.predicateType,
        predicate=kept,
        subjects=subjects,
        issued_at=issued_at(model.predicateType, predicate, where),
        build=slsa.parse_build(model.predicateType, predicate, where),
        notes=notes,
    )


def _subject(descriptor: _Descriptor, index: int, v01: bool, where: str) -> Resource:
    if not descriptor.digest:
        raise InputError(f"invalid in-toto Statement: subject {index} has no `digest`", where)
    if v01 and not descriptor.name:
        raise InputError(f"invalid in-toto Statement: subject {index} has no `name`", where)
    return resource(descriptor.name, descriptor.uri, descriptor.digest)


def bounded(predicate: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The predicate, without its large top-level fields when it is large; notes on what left."""
    if len(_dump(predicate)) <= MAX_PREDICATE_BYTES:
        return predicate, ()
    dropped = sorted(k for k, v in predicate.items() if len(_dump(v)) > MAX_FIELD_BYTES)
    kept = {k: v for k, v in predicate.items() if k not in dropped}
    fields = ", ".join(f"`{k}`" for k in dropped)
    return kept, (f"the predicate is larger than {MAX_PREDICATE_BYTES} bytes: {fields} not kept",)


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def issued_at(predicate_type: str, predicate: Mapping[str, Any], where: str) -> datetime | None:
    """When the predicate says it was made (see the module docstring), or None."""
    for prefix, paths in _TIME_FIELDS:
        if not predicate_type.startswith(prefix):
            continue
        for path in paths:
            value = lookup(predicate, path)
            if value is not None:
                return parse_time(value, where, "predicate." + ".".join(path))
    return None


def lookup(document: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested objects, or None."""
    for part in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(part)
    return document
