"""Every signature of the model-signing corpus: mlpolicy gives model_signing's own verdict.

Through ``mlpolicy verify model`` (the same flags as ``model_signing verify``, run
side by side in-process) and through ``mlpolicy check`` with a policy that trusts
the corpus key, CA or Sigstore identity. Each case PASSes as signed, and FAILs
on a copy with one changed byte, a missing signed file, an extra unsigned file,
and with a wrong key or CA (or identity). Offline: keyless cases use the
public-good trusted root the ``sigstore`` package ships, as a file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from modelsig_corpus import CA, ISSUER, PUBLIC_KEY, TESTS, Case, cases, flags
from modelsig_corpus import public_good_trust_config as trust_config

from policy_engine.cli import main

pytest.importorskip("model_signing", reason="model-signing is not installed (the modelsig extra)")
pytestmark = pytest.mark.skipif(not TESTS.is_dir(), reason=f"corpus not present at {TESTS}")
CASES = cases() if TESTS.is_dir() else []
IDS = [c.folder for c in CASES]


def model_signing_exit(args: list[str]) -> int:
    from model_signing._cli import main as model_signing_main

    return CliRunner().invoke(model_signing_main, ["verify", *args]).exit_code


def mlpolicy_exit(args: list[str]) -> int:
    return CliRunner().invoke(main, ["verify", "model", *args]).exit_code


def copy_case(case: Case, folder: Path) -> Path:
    shutil.copytree(case.path, folder)
    return folder


def both(case: Case, folder: Path, tmp_path: Path, anchor: Path | None = None) -> tuple[int, int]:
    args = flags(case, case.model(folder), folder / "model.sig", trust_config(tmp_path), anchor)
    return mlpolicy_exit(args), model_signing_exit(args)


def test_the_corpus_has_every_mode_of_every_version() -> None:
    assert {c.mode for c in CASES} == {"key", "certificate", "sigstore"}
    assert len(CASES) == 13


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_signature_verifies_as_model_signing_says(case: Case, tmp_path: Path) -> None:
    assert both(case, case.path, tmp_path) == (0, 0)


def change_one_byte(case: Case, model: Path) -> None:
    target = model / "signme-2" if not case.single_file else model
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))


def remove_signed_file(case: Case, model: Path) -> None:
    (model / "signme-2").unlink()


def add_unsigned_file(case: Case, model: Path) -> None:
    (model / "extra.bin").write_bytes(b"not signed")


TAMPERINGS: dict[str, Callable[[Case, Path], None]] = {
    "changed byte": change_one_byte,
    "missing signed file": remove_signed_file,
    "extra unsigned file": add_unsigned_file,
}


@pytest.mark.parametrize("tamper", sorted(TAMPERINGS))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_tampered_copy_fails_as_model_signing_says(
    case: Case, tamper: str, tmp_path: Path
) -> None:
    if case.single_file and tamper != "changed byte":
        pytest.skip("a one-file model has no other file to remove or add")
    folder = copy_case(case, tmp_path / "model")
    TAMPERINGS[tamper](case, case.model(folder))
    assert both(case, folder, tmp_path) == (1, 1)


def other_key(folder: Path) -> Path:
    key = ec.generate_private_key(ec.SECP384R1())
    path = folder / "other.pub"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def other_ca(folder: Path) -> Path:
    import datetime

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "other test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=3650))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA384())
    )
    path = folder / "other-ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.parametrize("case", [c for c in CASES if c.mode != "sigstore"], ids=str)
def test_a_wrong_key_or_ca_fails_as_model_signing_says(case: Case, tmp_path: Path) -> None:
    anchor = other_key(tmp_path) if case.mode == "key" else other_ca(tmp_path)
    assert both(case, case.path, tmp_path, anchor) == (1, 1)


@pytest.mark.parametrize("case", [c for c in CASES if c.mode == "sigstore"], ids=str)
def test_a_wrong_identity_fails_as_model_signing_says(case: Case, tmp_path: Path) -> None:
    args = flags(case, case.model(), case.path / "model.sig", trust_config(tmp_path))
    args[args.index("--identity") + 1] = "someone@example.com"
    assert (mlpolicy_exit(args), model_signing_exit(args)) == (1, 1)


def test_could_not_judge_is_exit_2(tmp_path: Path) -> None:
    [case] = [c for c in CASES if c.folder == "v1.1.0-elliptic-key"]
    missing = flags(case, case.path, tmp_path / "absent.sig", tmp_path)
    assert mlpolicy_exit(missing) == 2
    unreadable_key = flags(case, case.path, case.path / "model.sig", tmp_path, tmp_path / "nokey")
    assert mlpolicy_exit(unreadable_key) == 2


def test_verify_model_without_a_trust_config_uses_the_shipped_root(tmp_path: Path) -> None:
    [case] = [c for c in CASES if c.folder == "v1.1.0-sigstore"]
    args = flags(case, case.path, case.path / "model.sig", tmp_path)
    at = args.index("--trust_config")
    del args[at : at + 2]
    assert mlpolicy_exit(args) == 0
    assert ISSUER in args and str(PUBLIC_KEY) not in args and str(CA) not in args
