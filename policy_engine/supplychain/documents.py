"""One signed document (a layout or a link): read once, its signatures checked against given keys.

The envelope (classic signed JSON or DSSE), the exact bytes signed (canonical
JSON computed once per document) and the bounded JSON reading are the graph
builders' (:mod:`policy_engine.graph.builders.attestations.envelopes`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from policy_engine import gpgkeys, inputs
from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations.envelopes import (
    Foreign,
    Signed,
    open_document,
)
from policy_engine.graph.builders.attestations.timestamps import parse_time
from policy_engine.intoto.model import Link
from policy_engine.keys import PublicKey, verify_with

SignedDocument = Signed


class LayoutError(ValueError):
    """A layout that cannot be read or is not a valid in-toto layout (the chain fails)."""


def read_signed(path: Path, file: str) -> Signed:
    """The signed document in the file at ``path``; ``InputError`` if it is not one."""
    document = inputs.loads(inputs.read_bytes(path, file), file)
    opened = open_document(document, file)
    if isinstance(opened, Foreign) or opened.envelope == "none":
        raise InputError("not signed in-toto metadata", file)
    return opened


def signed_by(signed: Signed, keys: dict[str, PublicKey]) -> tuple[frozenset[str], dict[str, str]]:
    """The ids (of ``keys``) with a signature that verifies; why each other one does not."""
    verified: set[str] = set()
    problems: dict[str, str] = {}
    for name, key in keys.items():
        reason = _reason(signed, key)
        if reason:
            problems[name] = reason
        else:
            verified.add(name)
    return frozenset(verified), problems


def _reason(signed: Signed, key: PublicKey) -> str:
    """Empty when a signature by ``key`` verifies over the signed bytes; else why not."""
    ids = key.ids
    candidates = [s for s in signed.signatures if s.keyid in ids or not s.keyid]
    if not candidates:
        return "no signature by this key"
    reasons = []
    for raw in candidates:
        if raw.openpgp and key.openpgp is not None:
            if gpgkeys.verify(key, raw.openpgp_signature(), signed.signed_bytes):
                return ""
            reasons.append("the OpenPGP signature does not verify (or its key has expired)")
        elif raw.sig is None:
            reasons.append(raw.problem)
        elif verify_with(key, raw.sig, signed.signed_bytes):
            return ""
        elif raw.keyid:
            reasons.append("the signature does not verify (the signed content was changed?)")
    return "; ".join(dict.fromkeys(reasons)) or "no signature by this key"


def expiry(document: dict[str, Any], file: str) -> datetime | None:
    """When the layout expires; None when it says nothing (in-toto's default is a month on)."""
    value = document.get("expires")
    if value is None:
        return None
    try:
        return parse_time(value, file, "expires")
    except InputError as exc:
        raise LayoutError(str(exc)) from None


def link_of(payload: Any) -> Link:
    """The link facts of a signed payload; ``TypeError``/``ValueError`` when it is not a link."""
    if not isinstance(payload, dict) or payload.get("_type") != "link":
        raise ValueError("the `_type` is not `link`")
    name = payload.get("name")
    command = payload.get("command") or []
    if not isinstance(name, str) or not isinstance(command, list):
        raise TypeError("`name` must be a string and `command` a list")
    return Link(
        name,
        tuple(str(w) for w in command),
        _artifacts(payload, "materials"),
        _artifacts(payload, "products"),
    )


def _artifacts(payload: dict[str, Any], field: str) -> dict[str, dict[str, str]]:
    value = payload.get(field) or {}
    if not isinstance(value, dict):
        raise TypeError(f"`{field}` must be an object of artifacts")
    return value
