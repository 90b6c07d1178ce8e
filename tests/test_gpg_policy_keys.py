"""A policy trusts a GPG key by naming its armored export: `key alice from "keys/alice.asc"`.

The keys are in-toto's ``gpg_keyrings/rsa`` of the shared corpus (MANIFEST.md §1);
the link is signed with the real gpg binary, as ``in-toto-run --gpg`` signs it.
Reading an armored key needs the binary: without one the policy is invalid (E105,
exit 2), never silently without the key.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from securesystemslib.formats import encode_canonical

from policy_engine.cli import main
from tests.gpgkeyring import keyring_copy

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
KEYRING = CORPUS / "in-toto" / "tests" / "gpg_keyrings" / "rsa"
pytestmark = [
    pytest.mark.skipif(not KEYRING.is_dir(), reason="shared corpus not present"),
    pytest.mark.skipif(shutil.which("gpg") is None, reason="signing with GPG needs a gpg binary"),
]
MASTER = "8465a1e2e0fb2b40adb2478e18fb3f537e0c8a17"  # signs with its subkey c5a0abe6...
OTHER = "7b3abb26b97b655ab9296bd15b0bd02e1c768c43"
WEIGHTS = b"weights"

POLICY = """\
policy "gpg"
attestations in "links"
key alice from "keys/alice.asc"
role functionaries = alice

control SC-01 "The model is signed by a functionary" {
  severity high
  stage secure_pipelines
  require every artifact matching "model.bin" is signed by functionaries
}
"""


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A copy of the keyring; the gpg-agent that signing starts in it is stopped after."""
    with keyring_copy(KEYRING, tmp_path / "gnupg") as folder:
        yield folder


def armored(keyid: str, home: Path) -> bytes:
    argv = ["gpg", "--homedir", str(home), "--batch", "--armor", "--export", keyid]
    return subprocess.run(argv, capture_output=True, check=True).stdout


def signed_link(keyid: str, home: Path) -> dict[str, Any]:
    from securesystemslib._gpg import functions

    link = {"_type": "link", "name": "train", "command": ["python", "train.py"],
            "materials": {}, "products": {"model.bin": {"sha256": sha256(WEIGHTS).hexdigest()}},
            "byproducts": {}, "environment": {}}  # fmt: skip
    data = encode_canonical(link).encode()  # type: ignore[union-attr]
    signature = functions.create_signature(data, keyid, str(home))  # type: ignore[no-untyped-call]
    return {"signed": link, "signatures": [signature]}


def repo(tmp_path: Path, home: Path, trusted: str, signer: str) -> Path:
    root = tmp_path / "repo"
    (root / "keys").mkdir(parents=True)
    (root / "model.bin").write_bytes(WEIGHTS)
    (root / "keys" / "alice.asc").write_bytes(armored(trusted, home))
    (root / "links").mkdir()
    (root / "links" / f"train.{signer[:8]}.link").write_text(json.dumps(signed_link(signer, home)))
    (root / "policies").mkdir()
    (root / "policies" / "p.policy").write_text(POLICY)
    return root


def check(root: Path) -> tuple[int, str, list[dict[str, Any]]]:
    report = root.parent / "report.json"
    argv = ["check", str(root), "--format", "json", "--output", str(report), "--at", "2026-01-01"]
    result = CliRunner().invoke(main, argv)
    findings = json.loads(report.read_text())["findings"] if result.exit_code in (0, 1) else []
    return result.exit_code, result.output, findings


def controls(findings: list[dict[str, Any]]) -> set[str]:
    """The controls failing, but for the link's step missing from the (absent) pipeline."""
    return {f["control"] for f in findings} - {"builtin/unknown-step"}


def test_a_link_signed_by_the_trusted_gpg_key_passes(tmp_path: Path, home: Path) -> None:
    code, output, findings = check(repo(tmp_path, home, trusted=MASTER, signer=MASTER))
    assert code == 1, output  # builtin/unknown-step only
    assert controls(findings) == set()


def test_a_link_signed_by_another_gpg_key_fails(tmp_path: Path, home: Path) -> None:
    code, output, findings = check(repo(tmp_path, home, trusted=OTHER, signer=MASTER))
    assert code == 1, output
    assert "SC-01" in controls(findings)
    sc01 = next(f for f in findings if f["control"] == "SC-01")
    assert "by no trusted key" in sc01["message"]


def test_a_file_of_two_keys_is_refused(tmp_path: Path, home: Path) -> None:
    root = repo(tmp_path, home, trusted=MASTER, signer=MASTER)
    (root / "keys" / "alice.asc").write_bytes(armored(MASTER, home) + armored(OTHER, home))
    code, output, _ = check(root)
    assert code == 2
    assert "E105" in output and "must hold one key, not 2" in output


def test_without_a_gpg_binary_the_policy_cannot_be_judged(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from securesystemslib._gpg import constants

    root = repo(tmp_path, home, trusted=MASTER, signer=MASTER)
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries-here"))
    monkeypatch.delenv("GNUPG", raising=False)
    constants.is_available_gnupg.cache_clear()  # securesystemslib remembers what it found
    try:
        code, output, _ = check(root)
    finally:
        constants.is_available_gnupg.cache_clear()
    assert code == 2
    assert "E105" in output and "read with a gpg binary, and none is on the PATH" in output
    assert "p.policy:3:" in output  # located at the key's path


@pytest.mark.parametrize(("trusted", "code"), [(MASTER, 0), (OTHER, 1)])
def test_verify_takes_an_armored_key_as_a_verification_key(
    tmp_path: Path, home: Path, trusted: str, code: int
) -> None:
    from securesystemslib._gpg import functions

    layout = {"_type": "layout", "expires": "2100-01-01T00:00:00Z", "readme": "",
              "keys": {}, "steps": [], "inspect": []}  # fmt: skip
    data = encode_canonical(layout).encode()  # type: ignore[union-attr]
    signature = functions.create_signature(data, MASTER, str(home))  # type: ignore[no-untyped-call]
    (tmp_path / "root.layout").write_text(json.dumps({"signed": layout, "signatures": [signature]}))
    (tmp_path / "owner.asc").write_bytes(armored(trusted, home))
    argv = ["verify", "--layout", str(tmp_path / "root.layout"), "--verification-keys",
            str(tmp_path / "owner.asc"), "--link-dir", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == code, result.output
