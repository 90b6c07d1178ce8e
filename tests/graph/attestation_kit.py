"""Test helpers: signers with their public keys as the engine loads them, and signed documents.

Documents are signed with securesystemslib's own signers and DSSE envelope, so
the tests check the engine against the reference implementation.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner

from policy_engine.graph.build import build_graph
from policy_engine.graph.builders import BuildContext, LayoutOwners
from policy_engine.graph.builders.attestations import add_statements, build_attestations
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring, PublicKey, load_public_key

IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Identity:
    """A signer and its public key as the engine loads it (ids computed from the PEM)."""

    signer: CryptoSigner
    public: PublicKey

    @property
    def keyid(self) -> str:
        return self.public.keyid


def read_attestations(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Every attestation, statement resources matched by name only (no workspace builder)."""
    build_attestations(graph, context)
    add_statements(graph, context)


def identity(signer: CryptoSigner, folder: Path, name: str) -> Identity:
    private = load_pem_private_key(signer.private_bytes, None)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pub"
    path.write_bytes(pem)
    return Identity(signer, load_public_key(path))


def dsse(payload: dict[str, Any], signers: list[Identity], payload_type: str = IN_TOTO) -> dict:
    """A DSSE envelope of ``payload`` signed by each signer."""
    envelope = Envelope(json.dumps(payload).encode(), payload_type, {})
    for each in signers:
        envelope.sign(each.signer)
    return envelope.to_dict()


def metablock(signed: dict[str, Any], signers: list[Identity]) -> dict:
    """A classic signed document: the canonical JSON of ``signed`` signed by each signer."""
    data = encode_canonical(signed).encode()
    signatures = []
    for each in signers:
        sig = each.signer.sign(data)
        signatures.append({"keyid": sig.keyid, "sig": sig.signature})
    return {"signed": signed, "signatures": signatures}


def statement(
    subjects: list[dict[str, Any]],
    predicate_type: str = "https://example.com/evidence/v1",
    predicate: dict[str, Any] | None = None,
    kind: str = STATEMENT_V1,
) -> dict[str, Any]:
    document: dict[str, Any] = {"_type": kind, "subject": subjects, "predicateType": predicate_type}
    if predicate is not None:
        document["predicate"] = predicate
    return document


def link(name: str, materials: dict | None = None, products: dict | None = None) -> dict:
    return {
        "_type": "link",
        "name": name,
        "command": ["python", f"{name}.py"],
        "materials": materials or {},
        "products": products or {},
        "byproducts": {},
        "environment": {},
    }


def write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def write_lines(path: Path, documents: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    return path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def owned_by_all(keyring: Keyring, glob: str = "**") -> tuple[LayoutOwners, ...]:
    """Layouts matching ``glob`` need a signature by every key of ``keyring``."""
    keyids = frozenset(key.keyid for key in keyring.by_name.values())
    return (LayoutOwners(glob, "owners", keyids),) if keyids else ()


def load(
    root: Path,
    keyring: Keyring,
    *paths: Path,
    now: datetime = NOW,
    owners: tuple[LayoutOwners, ...] | None = None,
) -> ProvenanceGraph:
    """Attestations only (statement resources matched by name, not by workspace digest).

    Layouts are owned by every trusted key unless ``owners`` says otherwise.
    """
    graph = ProvenanceGraph(str(root))
    owned = owned_by_all(keyring) if owners is None else owners
    context = BuildContext(
        root, keyring, tuple(paths), now=now, hash_cache=False, layout_owners=owned
    )
    read_attestations(graph, context)
    return graph


def build(root: Path, keyring: Keyring, *paths: Path, now: datetime = NOW) -> ProvenanceGraph:
    """Every builder, as ``mlpolicy check`` runs them (no hash cache)."""
    return build_graph(BuildContext(root, keyring, tuple(paths), now=now, hash_cache=False))
