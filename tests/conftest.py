"""Shared fixtures: test-only key pairs made with securesystemslib, and the example
repository in the real layout (generated once per session)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty ``MLPOLICY_CACHE_DIR`` (where the hash cache lives) for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(folder))
    return folder


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
    os.environ["MLPOLICY_CACHE_DIR"] = str(tmp_path_factory.mktemp("hash-cache"))


# -- the example repository in the real layout (fixtures/realrepo.py) ------------------


def _realrepo_module() -> Any:
    """``fixtures/realrepo.py``, loaded once (``fixtures`` is not a package)."""
    name = "mlpolicy_fixture_realrepo"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FIXTURES / "realrepo.py")
        assert spec and spec.loader
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(scope="session")
def real_layout(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example repository as users have it, built once per session by real git and dvc.

    A ``RealRepo`` (see ``fixtures/realrepo.py``): ``.repo`` is the git repository (work
    tree on ``main``, outputs checked out, git-ignored), ``.remote`` its DVC remote, and
    ``.clone(name, branch, pull)`` makes a fresh clone beside them. The builder runs as a
    process of its own: dvc never runs inside the test process.
    """
    module = _realrepo_module()
    root = tmp_path_factory.mktemp("real-layout")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, str(FIXTURES / "realrepo.py"), str(root)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return module.RealRepo(root)
