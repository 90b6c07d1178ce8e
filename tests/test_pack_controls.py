"""Every control of the MLSecOps pack passes and fails on a real graph.

The graphs are the example repositories (made by real DVC, links signed with
in-toto), with evidence statements signed by `mlpolicy attest`'s code: all of
it good on the compliant copy, all of it bad on the tampered copy. Every
control must pass on the first and fail on the second, naming its risk.
"""

from __future__ import annotations

import importlib.util
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from policy_engine.api import check, load_policy
from policy_engine.lifecycle import ALL_RISKS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AT = datetime(2026, 11, 20, tzinfo=timezone.utc)
FRESH = "2026-11-18T00:00:00Z"
DATA = (
    "data/raw/transactions.csv",
    "data/prepared/train.csv",
    "data/prepared/test.csv",
    "data/features/train.csv",
    "data/features/test.csv",
)
MODEL = ("models/model.json",)
POLICY = """\
policy "every control"
import "@mlpolicy/mlsecops.policy" with data_team = data_team, ml_team = ml_team,
  ops_team = ml_team, security_team = data_team
attestations in "attestations"
key data_engineer from "keys/data-engineer.pub"
key ml_engineer from "keys/ml-engineer.pub"
role data_team = data_engineer
role ml_team = ml_engineer
stage data_preparation = steps where meta.lifecycle == "data_preparation"
stage model_training = steps "train"
stage model_deployment = steps where meta.lifecycle == "model_deployment"
stage inference = steps "evaluate"
"""


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"pack_{name}", FIXTURES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evidence(good: bool) -> list[tuple[str, str, tuple[str, ...], dict[str, Any]]]:
    """One statement per activity of the pack; good values, or each over its bound."""

    def pick(ok: Any, bad: Any) -> Any:
        return ok if good else bad

    data, ml = "data-engineer", "ml-engineer"
    items = [
        ("data-scan", data, DATA, {"scope": "pii", "findings": 0, "pii_found": pick(0, 3)}),
        (
            "data-scan",
            data,
            DATA,
            {"scope": "compliance", "regulations": ["GDPR"], "findings": pick(0, 2)},
        ),
        (
            "access-review",
            data,
            DATA,
            {"resource": "s3://fraud", "reviewer": "sec", "findings": pick(0, 1)},
        ),
        (
            "encoding-check",
            data,
            DATA,
            {"encoding": "utf-8", "schema": "s.json", "violations": pick(0, 4)},
        ),
        (
            "label-review",
            data,
            DATA,
            {"reviewers": 2, "sampled": 50, "disagreement_rate": pick(0.01, 0.2)},
        ),
        (
            "robustness",
            ml,
            MODEL,
            {
                "attacks": ["pgd"],
                "epsilon": 0.1,
                "clean_accuracy": 0.9,
                "robust_accuracy": pick(0.8, 0.4),
            },
        ),
        (
            "feature-review",
            ml,
            MODEL,
            {"features": 4, "protected_attributes_used": pick(False, True)},
        ),
        (
            "denoising",
            ml,
            MODEL,
            {
                "method": "confident-learning",
                "noise_rate_before": 0.2,
                "noise_rate_after": pick(0.01, 0.15),
            },
        ),
        (
            "hyperparameter-search",
            ml,
            MODEL,
            {"method": "bayes", "trials": pick(40, 3), "objective": "f1", "best_score": 0.7},
        ),
        (
            "validation",
            ml,
            MODEL,
            {
                "method": "k-fold",
                "folds": 5,
                "train_score": 0.9,
                "validation_score": 0.88,
                "generalization_gap": pick(0.02, 0.3),
            },
        ),
        (
            "evaluation-data-review",
            ml,
            MODEL,
            {"representativeness": pick(0.9, 0.4), "overlap_with_training": 0},
        ),
        (
            "endpoint-hardening",
            ml,
            MODEL,
            {"endpoint": "https://api", "authenticated": True, "rate_limited": pick(True, False)},
        ),
        ("test-result", ml, MODEL, {"result": pick("PASSED", "FAILED")}),
        (
            "drift",
            ml,
            MODEL,
            {
                "window": "7d",
                "data_drift_score": pick(0.05, 0.6),
                "concept_drift_score": pick(0.05, 0.6),
                "alerting": True,
                "retraining_trigger": True,
            },
        ),
        (
            "bias",
            ml,
            MODEL,
            {
                "protected_attributes": ["country"],
                "demographic_parity_difference": pick(0.02, 0.3),
                "equalized_odds_difference": 0.02,
            },
        ),
        (
            "input-sanitization",
            ml,
            MODEL,
            {"sanitizer": "guard", "detection_rate": pick(0.97, 0.5)},
        ),
        ("calibration", ml, MODEL, {"method": "isotonic", "ece": pick(0.01, 0.2), "dataset": "d"}),
        ("explainability", ml, MODEL, {"method": "shap", "coverage": pick(0.95, 0.3)}),
        (
            "output-verification",
            ml,
            MODEL,
            {"checks": ["range"], "verified": 10, "rejected": 0, "error_rate": pick(0.0, 0.2)},
        ),
        (
            "rl-safety",
            ml,
            MODEL,
            {"constraints": ["no-ban"], "violations": pick(0, 2), "reward_hacking_detected": False},
        ),
    ]
    return [
        (name, key, about, {"timestamp": FRESH, **fields}) for name, key, about, fields in items
    ]


def run_pack(tmp_path: Path, variant: str, good: bool):
    repo = Path(shutil.copytree(FIXTURES / variant, tmp_path / variant))
    (repo / "attestations" / "evidence.intoto.jsonl").unlink()
    if not good:  # an output edited after its step signed it
        metrics = repo / "metrics" / "eval.json"
        metrics.write_text(metrics.read_text().replace("0.", "0.9", 1))
    _load("evidence").write_evidence(repo, FIXTURES / "keys", evidence(good))
    (repo / "pack").mkdir()
    (repo / "pack" / "p.policy").write_text(POLICY)
    loaded = load_policy([repo / "pack"], repo)
    assert loaded.ok, loaded.diagnostics
    assert loaded.policy is not None
    return loaded.policy, check(loaded.policy, repo, now=AT)


def test_every_control_passes_with_good_evidence_on_the_compliant_repository(tmp_path) -> None:
    policy, result = run_pack(tmp_path, "example-ml", good=True)
    assert len(policy.controls) == 25
    failing = {f.control: f.message for f in result.evaluation.active}
    assert failing == {}


def test_every_control_fails_on_the_tampered_repository_naming_its_risk(tmp_path) -> None:
    policy, result = run_pack(tmp_path, "example-ml-tampered", good=False)
    by_control: dict[str, list[str]] = {}
    for finding in result.evaluation.active:
        by_control.setdefault(finding.control, []).append(finding.message)
    for control in policy.controls:
        assert control.id in by_control, f"{control.id} did not fail"
        for risk in control.risks:
            assert risk in ALL_RISKS
            assert all(f"[risk: {risk}]" in m for m in by_control[control.id]), control.id
