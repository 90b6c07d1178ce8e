"""Signed in-toto Statements (v1) about artifacts of the repository, in DSSE envelopes.

A statement names each subject by its repository path with the sha256 the
workspace builder computes (see :mod:`.artifacts`): the digest ``mlpolicy
check`` compares, and the standard one (no md5). The predicate must match the
schema of its type when :data:`~policy_engine.schemas.predicates.SCHEMAS` has
one; such a predicate without a ``timestamp`` gets one (the given time, or now,
UTC ISO-8601), since freshness windows are measured from it. The statement is
then read back by the engine's own Statement parser, so what is signed is what
``check`` accepts. The envelope is securesystemslib's DSSE ``Envelope``
(payload type ``application/vnd.in-toto+json``) signed by a ``CryptoSigner``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.files import write_atomically
from policy_engine.produce.documents import iso_utc
from policy_engine.schemas.predicates import SCHEMAS, schema_problem

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class Prepared:
    """A predicate ready to sign, and the time it was given when it stated none."""

    predicate: dict[str, Any]
    timestamp_set: str | None = None


@dataclass(frozen=True)
class SignedStatement:
    """The statement, its DSSE envelope (as JSON data) and the signing key id."""

    statement: dict[str, Any]
    envelope: dict[str, Any]
    keyid: str
    public_key: Any = None  # the signer's public key (securesystemslib ``Key``)


def prepare_predicate(
    predicate_type: str, predicate: dict[str, Any], now: datetime, file: str
) -> Prepared:
    """Add a ``timestamp`` when the type has a schema and the predicate has none; validate it.

    A predicate that does not match its type's schema is an :class:`InputError`
    naming the first problem.
    """
    stamped: str | None = None
    if predicate_type in SCHEMAS and predicate.get("timestamp") is None:
        stamped = iso_utc(now)
        predicate = {**predicate, "timestamp": stamped}
    problem = schema_problem(predicate_type, predicate)
    if problem:
        message = f"the predicate does not match the schema of `{predicate_type}`: {problem}"
        raise InputError(message, file)
    return Prepared(predicate, stamped)


def statement(
    predicate_type: str, predicate: dict[str, Any], subjects: dict[str, str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """An in-toto Statement v1 about ``subjects`` (``{path: sha256}``), read back as ``check`` does.

    Returns the statement and the engine's notes on it (e.g. predicate fields
    too large to keep); a statement the engine would refuse is an :class:`InputError`.
    """
    from policy_engine.graph.builders.attestations.statements import parse_statement

    document = {
        "_type": STATEMENT_V1,
        "subject": [
            {"name": path, "digest": {"sha256": digest}}
            for path, digest in sorted(subjects.items())
        ],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    parsed = parse_statement(document, "the statement")
    return document, parsed.notes


def sign_statement(document: dict[str, Any], signer: Signer) -> SignedStatement:
    """A DSSE envelope of the statement (compact, sorted JSON) signed by ``signer``."""
    from securesystemslib.dsse import Envelope

    payload = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    envelope = Envelope(payload.encode("utf-8"), PAYLOAD_TYPE, {})
    signature = envelope.sign(signer)
    return SignedStatement(document, envelope.to_dict(), signature.keyid, signer.public_key)


def write_envelope(signed: SignedStatement, path: Path) -> None:
    """Write the envelope as one JSON document (replacing ``path``; folders created)."""
    text = json.dumps(signed.envelope, sort_keys=True, indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the statement: {exc.strerror}", str(path)) from None


@dataclass(frozen=True)
class BundleWrite:
    """Where the envelope went in the bundle, and how many earlier lines it replaced."""

    line: int
    superseded: int


def append_to_bundle(
    signed: SignedStatement, path: Path, keep_history: bool = False
) -> BundleWrite:
    """Add the envelope as the last line of the bundle ``path`` (created if absent).

    Unless ``keep_history``, lines it supersedes are dropped: statements of the same
    predicate type, about subjects it names again at other bytes (a retrain), whose
    signature verifies with the same key. Other lines, statements about the same
    bytes included, are kept byte for byte; the file is replaced atomically.
    """
    if not path.name.endswith(".jsonl"):
        raise InputError("a bundle is JSON Lines: its name must end in `.jsonl`", str(path))
    line = json.dumps(signed.envelope, sort_keys=True, separators=(",", ":")).encode("utf-8")
    existing = [raw for raw in _read_lines(path) if raw.strip()]
    kept = existing if keep_history else [raw for raw in existing if not _supersedes(signed, raw)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, b"".join(raw + b"\n" for raw in [*kept, line]), 0o644)
    except OSError as exc:
        raise InputError(f"cannot write the bundle: {exc.strerror}", str(path)) from None
    return BundleWrite(len(kept) + 1, len(existing) - len(kept))


def _read_lines(path: Path) -> list[bytes]:
    try:
        return path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"cannot read the bundle: {exc.strerror}", str(path)) from None


def _supersedes(signed: SignedStatement, raw: bytes) -> bool:
    """Whether the new statement replaces the bundle line ``raw`` (see :func:`append_to_bundle`)."""
    from securesystemslib.dsse import Envelope

    new = {s["name"]: s["digest"] for s in signed.statement["subject"]}
    try:
        envelope = Envelope.from_dict(json.loads(raw))
        old = json.loads(envelope.payload)
        subjects = {s["name"]: s["digest"] for s in old["subject"]}
        if old["predicateType"] != signed.statement["predicateType"] or not subjects:
            return False
        if any(name not in new for name in subjects) or subjects == new:
            return False  # about something else, or about the same bytes (other evidence)
        return _verifies_with(envelope, signed.public_key)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False  # not a statement this key signed: never dropped


def _verifies_with(envelope: Any, key: Any) -> bool:
    from securesystemslib.exceptions import VerificationError

    try:
        envelope.verify([key], 1)
    except VerificationError:
        return False
    return True
