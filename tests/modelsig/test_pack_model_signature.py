"""The MLSecOps pack's Trojan Models control (MLS-DE-03) accepts an OpenSSF model signature.

On a copy of the example repository, whose ``ml_team`` here holds only an
elliptic-curve key: the model is unsigned by the role until ``attest model``
signs it; then the model's rule holds (signed at its current digest, lineage to
a declared source), and a changed byte fails it again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_attest_model import key_pair

from policy_engine.api import check, load_policy
from policy_engine.cli import main

pytest.importorskip("model_signing", reason="model-signing is not installed (the modelsig extra)")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODEL = "models/model.json"
POLICY = """\
policy "trojan models"
import "@mlpolicy/mlsecops.policy" with data_team = ml_team, ml_team = ml_team,
  ops_team = ml_team, security_team = ml_team
key model_signer from "keys/model-signer.pub"
role ml_team = model_signer
stage model_training = steps "train"
stage model_deployment = steps where meta.lifecycle == "model_deployment"
"""


def trojan_subjects(repo: Path) -> set[str]:
    loaded = load_policy([repo / "pack"], repo)
    assert loaded.ok and loaded.policy is not None, loaded.diagnostics
    result = check(loaded.policy, repo, hash_cache=False)
    return {f.subject for f in result.evaluation.active if f.control == "MLS-DE-03"}


def test_a_model_signature_satisfies_the_trojan_models_control(tmp_path: Path) -> None:
    repo = Path(shutil.copytree(FIXTURES / "example-ml", tmp_path / "repo"))
    secret, _ = key_pair(repo / "keys")
    (repo / "keys" / "release.pub").rename(repo / "keys" / "model-signer.pub")
    (repo / "pack").mkdir()
    (repo / "pack" / "p.policy").write_text(POLICY)
    assert MODEL in trojan_subjects(repo)
    signed = CliRunner().invoke(main, ["attest", "model", str(repo / MODEL), "--key", str(secret)])
    assert signed.exit_code == 0, signed.output
    assert MODEL not in trojan_subjects(repo)
    model = repo / MODEL
    model.write_text(model.read_text() + " ")
    assert MODEL in trojan_subjects(repo)
