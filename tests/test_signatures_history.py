"""What counts as a signature, and which claims are current, on the real-layout repository.

Each test runs on a fresh `git clone` + `dvc pull` of the generated repository (real git,
real dvc, links and statements signed with in-toto's and securesystemslib's APIs):

* an evidence statement (a test result) signed by the ML team about the model is not a
  signature of the model, unless the policy declares its type to be one;
* a statement whose signature does not verify with a trusted key claims nothing, so it
  cannot make sources disagree;
* after a retrain, re-signing with `mlpolicy attest` passes `check` with no manual edit
  of the bundles; with `--keep-history` too, and the JSON lists the superseded statement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from policy_engine.cli.main import main
from policy_engine.produce.signing import load_signer
from policy_engine.produce.statements import append_to_bundle, sign_statement, statement

pytestmark = pytest.mark.slow

KEYS = Path(__file__).resolve().parents[1] / "fixtures" / "keys"
MODEL = "models/model.json"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"
ROBUSTNESS = "https://mlpolicy.dev/attestation/robustness/v1"
BUNDLE = "attestations/robustness.intoto.jsonl"
PREDICATE = {
    "timestamp": "2026-11-20T10:00:00Z",
    "attacks": ["fgsm", "pgd"],
    "epsilon": 0.05,
    "clean_accuracy": 0.86,
    "robust_accuracy": 0.77,
}


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def check(repo: Path) -> tuple[int, dict[str, Any]]:
    result = mlpolicy("check", repo, "--format", "json", "--no-cache")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def controls(report: dict[str, Any]) -> set[str]:
    return {f["control"] for f in report["findings"]}


def dvc(repo: Path, *args: str) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def repo(real_layout: Any, request: pytest.FixtureRequest) -> Path:
    path: Path = real_layout.clone(f"history-{request.node.name}", pull=True)
    return path


def write_predicate(folder: Path, fields: dict[str, Any]) -> Path:
    path = folder / "predicate.json"
    path.write_text(json.dumps(fields))
    return path


def test_an_evidence_statement_is_not_a_signature_unless_the_policy_says_so(
    repo: Path, tmp_path: Path
) -> None:
    for link in (repo / "attestations").glob("train.*.link"):
        link.unlink()  # nobody signs the model as its producer any more
    predicate = write_predicate(tmp_path, {"result": "PASSED", "configuration": []})
    attested = mlpolicy(
        "attest", "statement", "--key", KEYS / "ml-engineer", "--type", TEST_RESULT,
        "--predicate", predicate, "--subject", MODEL, "--repo", repo,
        "--bundle", repo / "attestations" / "tests.intoto.jsonl",
    )  # fmt: skip
    assert attested.exit_code == 0, attested.output
    status, report = check(repo)
    assert status == 1 and "DE-01" in controls(report)
    (finding,) = [f for f in report["findings"] if f["control"] == "DE-01"]
    assert "no attestation names it as a product" in finding["message"]

    policy = repo / "policies" / "pipeline.policy"
    declared = f'signatures from statements of type "{TEST_RESULT}"\n'
    policy.write_text(declared + policy.read_text())
    assert "DE-01" not in controls(check(repo)[1])


def _forged_statement(repo: Path, key: str, digest: str) -> None:
    """A robustness statement about the model at other bytes, signed by ``key``."""
    document, _ = statement(ROBUSTNESS, PREDICATE, {MODEL: digest})
    signed = sign_statement(document, load_signer(KEYS / key))
    append_to_bundle(signed, repo / "attestations" / "forged.intoto.jsonl", keep_history=True)


def test_a_statement_no_trusted_key_verifies_claims_nothing(repo: Path) -> None:
    status, report = check(repo)
    assert (status, report["findings"]) == (0, [])
    _forged_statement(repo, "intruder", "0" * 64)
    _forged_statement(repo, "ml-engineer", "1" * 64)  # trusted, but about other bytes: history
    status, report = check(repo)
    assert (status, report["findings"]) == (0, [])
    assert [(s["file"], s["subject"]) for s in report["superseded"]] == [
        ("attestations/forged.intoto.jsonl#2", MODEL)
    ]


def _retrain(repo: Path) -> None:
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("lr: 0.5", "lr: 0.4"))
    dvc(repo, "repro", "--quiet")


def _re_sign(repo: Path, *bundle_options: str) -> Result:
    signers = (("train", "ml-engineer"), ("train", "ml-reviewer"), ("evaluate", "ml-engineer"))
    for stage, key in signers:
        signed = mlpolicy("attest", "link", "--key", KEYS / key, "--stage", stage, "--repo", repo)
        assert signed.exit_code == 0, signed.output
    predicate = write_predicate(repo.parent, PREDICATE)
    return mlpolicy(
        "attest", "statement", "--key", KEYS / "ml-engineer", "--type", ROBUSTNESS,
        "--predicate", predicate, "--subject", MODEL, "--repo", repo,
        "--bundle", repo / BUNDLE, *bundle_options,
    )  # fmt: skip


def test_after_a_retrain_re_attesting_passes_with_no_manual_edit(repo: Path) -> None:
    _retrain(repo)
    status, report = check(repo)
    assert status == 1 and {"DE-01", "TR-04"} <= controls(report)
    attested = _re_sign(repo)
    assert attested.exit_code == 0, attested.output
    assert "replaced 1 earlier statement(s)" in attested.stdout
    status, report = check(repo)
    assert (status, report["findings"]) == (0, [])
    assert report["superseded"] == []


def test_with_keep_history_it_passes_too_and_lists_what_is_superseded(repo: Path) -> None:
    _retrain(repo)
    attested = _re_sign(repo, "--keep-history")
    assert attested.exit_code == 0, attested.output
    assert len((repo / BUNDLE).read_text().splitlines()) == 2
    status, report = check(repo)
    assert (status, report["findings"]) == (0, [])
    (old,) = report["superseded"]
    assert old["file"] == f"{BUNDLE}#1" and old["subject"] == MODEL
    assert old["predicate_type"] == ROBUSTNESS
