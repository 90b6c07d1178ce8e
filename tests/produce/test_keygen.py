"""`mlpolicy keygen`: usable key pairs, private keys kept private, nothing overwritten unasked."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner

from policy_engine.cli import main
from policy_engine.keys import load_public_key, verify_with
from policy_engine.produce.signing import load_signer

SCHEMES = {
    "ed25519": ("ed25519", "ed25519"),
    "ecdsa": ("ecdsa", "ecdsa-sha2-nistp256"),
    "rsa": ("rsa", "rsassa-pss-sha256"),
}


def mlpolicy(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def signs_and_verifies(private: Path, public: Path, password: bytes | None = None) -> bool:
    """Sign with the private key as attest does; verify with the public key as check does."""
    signer = load_signer(private, password)
    trusted = load_public_key(public)
    signature = signer.sign(b"payload")
    return signature.keyid == trusted.keyid and verify_with(
        trusted, signature.signature, b"payload"
    )


@pytest.mark.parametrize("key_type", sorted(SCHEMES))
def test_keygen_writes_a_usable_pair_and_prints_its_computed_id(
    tmp_path: Path, key_type: str
) -> None:
    result = mlpolicy("keygen", "data-engineer", "--type", key_type, "--dir", tmp_path / "k")
    assert result.exit_code == 0, result.output
    private, public = tmp_path / "k" / "data-engineer", tmp_path / "k" / "data-engineer.pub"
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert mode(private) == 0o600
    loaded = load_public_key(public)
    assert (loaded.keytype, loaded.scheme) == SCHEMES[key_type]
    assert f"key id:      {loaded.keyid}" in result.stdout
    assert f'key data_engineer from "{public.as_posix()}"' in result.stdout
    assert signs_and_verifies(private, public)


def test_the_signer_key_id_is_the_one_securesystemslib_computes(tmp_path: Path) -> None:
    assert mlpolicy("keygen", "alice", "--dir", tmp_path).exit_code == 0
    private = load_pem_private_key((tmp_path / "alice").read_bytes(), None)
    reference = CryptoSigner(private).public_key.keyid  # type: ignore[arg-type]
    assert load_signer(tmp_path / "alice").public_key.keyid == reference
    assert load_public_key(tmp_path / "alice.pub").keyid == reference


def test_keygen_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert mlpolicy("keygen", "alice", "--dir", tmp_path).exit_code == 0
    before = (tmp_path / "alice").read_bytes(), (tmp_path / "alice.pub").read_bytes()
    refused = mlpolicy("keygen", "alice", "--dir", tmp_path)
    assert refused.exit_code == 2
    assert "already exists; use --force" in refused.stderr
    assert ((tmp_path / "alice").read_bytes(), (tmp_path / "alice.pub").read_bytes()) == before
    replaced = mlpolicy("keygen", "alice", "--dir", tmp_path, "--force")
    assert replaced.exit_code == 0, replaced.output
    assert (tmp_path / "alice").read_bytes() != before[0]
    assert mode(tmp_path / "alice") == 0o600
    assert signs_and_verifies(tmp_path / "alice", tmp_path / "alice.pub")


def test_keygen_refuses_when_only_the_public_key_exists(tmp_path: Path) -> None:
    (tmp_path / "alice.pub").write_text("kept")
    assert mlpolicy("keygen", "alice", "--dir", tmp_path).exit_code == 2
    assert not (tmp_path / "alice").exists()
    assert (tmp_path / "alice.pub").read_text() == "kept"


def test_keygen_encrypts_with_the_password_in_the_environment(tmp_path: Path) -> None:
    env = {"KEY_PASSWORD": "correct horse"}
    result = mlpolicy("keygen", "bob", "--dir", tmp_path, "--password-env", "KEY_PASSWORD", env=env)
    assert result.exit_code == 0, result.output
    assert "encrypted with $KEY_PASSWORD" in result.stdout
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "bob").read_bytes()
    with pytest.raises(TypeError):
        load_pem_private_key((tmp_path / "bob").read_bytes(), None)
    assert signs_and_verifies(tmp_path / "bob", tmp_path / "bob.pub", b"correct horse")


def test_keygen_needs_the_password_variable_to_be_set(tmp_path: Path) -> None:
    result = mlpolicy("keygen", "bob", "--dir", tmp_path, "--password-env", "NO_SUCH_VARIABLE")
    assert result.exit_code == 2
    assert "`NO_SUCH_VARIABLE` is not set" in result.stderr
    assert not (tmp_path / "bob").exists()


@pytest.mark.parametrize("name", ["../escape", "sub/key", ".hidden", "alice.pub", ""])
def test_keygen_takes_a_plain_file_name(tmp_path: Path, name: str) -> None:
    result = mlpolicy("keygen", name, "--dir", tmp_path / "k")
    assert result.exit_code == 2
    assert "plain file name" in result.stderr
    assert not (tmp_path / "k").exists()


def test_a_key_name_that_is_not_a_policy_name_is_made_one(tmp_path: Path) -> None:
    result = mlpolicy("keygen", "2nd.reviewer", "--dir", tmp_path)
    assert result.exit_code == 0
    assert f'key key_2nd_reviewer from "{(tmp_path / "2nd.reviewer.pub").as_posix()}"' in (
        result.stdout
    )


def test_help_of_the_new_verbs_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from policy_engine.cli import main\n"
        "for verb in (['keygen', '--help'], ['attest', 'statement', '--help']):\n"
        "    try:\n        main(verb)\n"
        "    except SystemExit as e:\n        assert e.code == 0, e.code\n"
        "heavy = ('dvc', 'in_toto', 'securesystemslib', 'cryptography', 'networkx')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "Usage: " in done.stdout
    assert done.stdout.strip().endswith("[]")
