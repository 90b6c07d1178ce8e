"""Shared fixtures: test-only key pairs made with securesystemslib."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus"


def public_pem(signer: CryptoSigner) -> bytes:
    return signer._private_key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="session")
def signers() -> dict[str, CryptoSigner]:
    """Three ed25519 signers: alice, bob and mallory."""
    return {name: CryptoSigner.generate_ed25519() for name in ("alice", "bob", "mallory")}


@pytest.fixture
def key_dir(tmp_path: Path, signers: dict[str, CryptoSigner]) -> Callable[[Path], Path]:
    """Writes ``keys/<name>.pub`` (PEM) for every signer under a given root."""

    def write(root: Path = tmp_path) -> Path:
        keys = root / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        for name, signer in signers.items():
            (keys / f"{name}.pub").write_bytes(public_pem(signer))
        return keys

    return write


@pytest.fixture(autouse=True, scope="session")
def _private_hash_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never write the user's hash cache: point it at a temporary folder."""
    import os

    os.environ["MLPOLICY_CACHE_DIR"] = str(tmp_path_factory.mktemp("hash-cache"))
