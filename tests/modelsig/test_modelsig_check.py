"""`mlpolicy check` on repositories holding the corpus's signed models: the same verdicts.

Each corpus model is copied into a repository as users keep it (a folder with its
``model.sig`` inside, or a one-file model with ``<file>.sig`` beside it), with a
policy that trusts the corpus key, CA and Sigstore identity (public-good root).
The model and its files must be signed at their current digests: PASS as
signed; FAIL with one changed byte, a missing or an extra file, or when the
policy trusts another key or CA instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from modelsig_corpus import CA, IDENTITY, ISSUER, PUBLIC_KEY, TESTS, Case, cases
from test_modelsig_corpus import TAMPERINGS, other_ca, other_key

from policy_engine.cli import main

pytest.importorskip("model_signing", reason="model-signing is not installed (the modelsig extra)")
pytestmark = [
    pytest.mark.slow,  # every corpus repository, end to end
    pytest.mark.skipif(not TESTS.is_dir(), reason=f"corpus not present at {TESTS}"),
]
CASES = cases() if TESTS.is_dir() else []
IDS = [c.folder for c in CASES]

POLICY = """\
policy "signed models"

attestations in "models"

key release from "keys/release.pub"
ca corp from "keys/ca.pem"
identity upstream = "{identity}" issuer "{issuer}"

role model_signers = release, corp, upstream

control TM-01 "Models are signed by a trusted signer" {{
  severity high
  stage model_training
  require every artifact matching "models/**" is signed by model_signers
}}
"""


def signs_ignore_me(case: Case) -> bool:
    """Whether the signature itself lists `ignore-me` in its ignore_paths (v1.1.0)."""
    return "ignore-me" in (case.path / "model.sig").read_text()


def repository(case: Case, root: Path, key: Path = PUBLIC_KEY, ca: Path = CA) -> Path:
    """The case's model in a repository, as users keep it; the policy trusts key and ca."""
    (root / "keys").mkdir(parents=True)
    (root / "policies").mkdir()
    shutil.copy(key, root / "keys" / "release.pub")
    shutil.copy(ca, root / "keys" / "ca.pem")
    text = POLICY.format(identity=IDENTITY, issuer=ISSUER)
    (root / "policies" / "models.policy").write_text(text)
    models = root / "models"
    models.mkdir()
    if case.single_file:
        shutil.copy(case.path / "signme-1", models / "signme-1")
        shutil.copy(case.path / "model.sig", models / "signme-1.sig")
        return root
    shutil.copytree(case.path, models / "m")
    if not signs_ignore_me(case):
        (models / "m" / "ignore-me").unlink(missing_ok=True)
    return root


def check(root: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["check", str(root), "--format", "json", "--no-cache"])
    report = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    return result.exit_code, report


def controls(report: dict) -> set[str]:
    return {f["control"] for f in report.get("findings", [])}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_signed_model_passes(case: Case, tmp_path: Path) -> None:
    code, report = check(repository(case, tmp_path))
    assert (code, report["findings"]) == (0, [])


@pytest.mark.parametrize("tamper", sorted(TAMPERINGS))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_tampered_model_fails(case: Case, tamper: str, tmp_path: Path) -> None:
    if case.single_file and tamper != "changed byte":
        pytest.skip("a one-file model has no other file to remove or add")
    root = repository(case, tmp_path / "repo")
    model = root / "models" / ("signme-1" if case.single_file else "m")
    TAMPERINGS[tamper](case, model)
    code, report = check(root)
    assert code == 1
    assert "TM-01" in controls(report)


@pytest.mark.parametrize("case", [c for c in CASES if c.mode != "sigstore"], ids=str)
def test_a_policy_trusting_another_key_or_ca_fails(case: Case, tmp_path: Path) -> None:
    key = other_key(tmp_path) if case.mode == "key" else PUBLIC_KEY
    ca = other_ca(tmp_path) if case.mode == "certificate" else CA
    code, report = check(repository(case, tmp_path / "repo", key, ca))
    assert code == 1
    assert controls(report) == {"TM-01"}


def test_a_symlink_in_a_signed_model_is_never_followed(tmp_path: Path) -> None:
    [case] = [c for c in CASES if c.folder == "v1.1.0-elliptic-key"]
    root = repository(case, tmp_path / "repo")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret bytes 42")
    (root / "models" / "m" / "link").symlink_to(outside)
    code, report = check(root)
    assert code == 1
    assert {"builtin/unreadable-file", "TM-01"} <= controls(report)
    assert "secret bytes 42" not in json.dumps(report)
