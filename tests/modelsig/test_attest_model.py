"""`mlpolicy attest model`: model_signing accepts the signature, and `check` passes on it.

A DVC-tracked model folder (real `dvc add`, outputs in the DVC cache) signed this
way satisfies `is signed by`; changing a byte of it afterwards fails the rule.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from policy_engine.cli import main

pytest.importorskip("model_signing", reason="model-signing is not installed (the modelsig extra)")

BIN = Path(sys.executable).parent
POLICY = """\
policy "models"

key release from "keys/release.pub"

role model_signers = release

control TM-01 "Models are signed" {
  severity high
  stage model_training
  require every artifact matching "models/**" is signed by model_signers
}
"""


def key_pair(folder: Path) -> tuple[Path, Path]:
    private = ec.generate_private_key(ec.SECP256R1())
    folder.mkdir(parents=True, exist_ok=True)
    secret, public = folder / "release.pem", folder / "release.pub"
    secret.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return secret, public


def model_folder(root: Path) -> Path:
    model = root / "models" / "classifier"
    (model / "weights").mkdir(parents=True)
    (model / "config.txt").write_text("layers: 3\n")
    (model / "weights" / "part-0.bin").write_bytes(bytes(range(256)) * 64)
    return model


def attest(model: Path, key: Path, *extra: str) -> None:
    result = CliRunner().invoke(main, ["attest", "model", str(model), "--key", str(key), *extra])
    assert result.exit_code == 0, result.output


def model_signing_verify_key(model: Path, signature: Path, public: Path) -> int:
    from model_signing._cli import main as model_signing_main

    args = ["verify", "key", "--signature", str(signature), "--public_key", str(public)]
    return CliRunner().invoke(model_signing_main, [*args, str(model)]).exit_code


def check(root: Path) -> int:
    return CliRunner().invoke(main, ["check", str(root), "--no-cache"]).exit_code


def test_model_signing_accepts_what_attest_model_signs(tmp_path: Path) -> None:
    secret, public = key_pair(tmp_path / "keys")
    model = model_folder(tmp_path)
    attest(model, secret)
    signature = model.with_name("classifier.sig")
    assert model_signing_verify_key(model, signature, public) == 0
    (model / "config.txt").write_text("layers: 4\n")
    assert model_signing_verify_key(model, signature, public) == 1


def test_a_signature_inside_the_folder_is_left_out_of_what_it_signs(tmp_path: Path) -> None:
    secret, public = key_pair(tmp_path / "keys")
    model = model_folder(tmp_path)
    attest(model, secret, "--signature", str(model / "model.sig"))
    assert model_signing_verify_key(model, model / "model.sig", public) == 0


def test_attest_model_refuses_a_key_that_is_not_elliptic_curve(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    model = model_folder(tmp_path)
    key = tmp_path / "ed.pem"
    key.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = CliRunner().invoke(main, ["attest", "model", str(model), "--key", str(key)])
    assert result.exit_code == 2
    assert not model.with_name("classifier.sig").exists()


def repository(root: Path) -> tuple[Path, Path]:
    secret, _ = key_pair(root / "keys")
    (root / "policies").mkdir()
    (root / "policies" / "models.policy").write_text(POLICY)
    return secret, model_folder(root)


def dvc(root: Path, *args: str) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    command = [str(BIN / "dvc"), *args] if args[0] != "git" else list(args)
    subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)


@pytest.mark.slow
def test_a_dvc_tracked_model_signed_by_attest_model_is_signed(tmp_path: Path) -> None:
    secret, model = repository(tmp_path)
    dvc(tmp_path, "git", "init", "-q")
    dvc(tmp_path, "init", "-q")
    dvc(tmp_path, "add", "-q", "models/classifier")
    attest(model, secret)
    assert check(tmp_path) == 0
    (model / "config.txt").write_text("layers: 4\n")
    assert check(tmp_path) == 1


def test_a_signature_under_an_attestation_path_signs_the_model_beside_it(
    tmp_path: Path,
) -> None:
    secret, model = repository(tmp_path)
    unsigned = check(tmp_path)
    attest(model, secret)
    policy = (tmp_path / "policies" / "models.policy").read_text()
    declared = policy.replace("key release", 'attestations in "models"\n\nkey release')
    (tmp_path / "policies" / "models.policy").write_text(declared)
    assert (unsigned, check(tmp_path)) == (1, 0)
