"""The MLSecOps pack covers every risk of the lifecycle, and compiles as users import it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from policy_engine.api import load_policy
from policy_engine.lifecycle import ALL_RISKS, RISKS

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seed" / "mlsecops-lifecycle.md"
EXPECTED_COUNTS = {
    "data_preparation": 5,
    "model_training": 5,
    "model_deployment": 5,
    "monitoring": 3,
    "inference": 3,
    "outputs": 3,
    "secure_pipelines": 1,
}
IMPORT = """\
policy "uses the pack"
import "@mlpolicy/mlsecops.policy" with data_team = data, ml_team = ml, ops_team = ml,
  security_team = data, max_calibration_error = 0.03
key data_engineer from "keys/data-engineer.pub"
key ml_engineer from "keys/ml-engineer.pub"
role data = data_engineer
role ml = ml_engineer
"""


@pytest.fixture
def pack_policy(tmp_path: Path):
    shutil.copytree(REPO / "fixtures" / "example-ml" / "keys", tmp_path / "keys")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.policy").write_text(IMPORT)
    loaded = load_policy([tmp_path / "policies"], tmp_path)
    assert loaded.ok, loaded.diagnostics
    assert loaded.policy is not None
    return loaded.policy


def seed_risks() -> dict[str, list[str]]:
    """Risk names per section of the seed document, as its authors wrote them."""
    sections = re.split(r"^## ", SEED.read_text(encoding="utf-8"), flags=re.M)[1:]
    found: dict[str, list[str]] = {}
    for section, stage in zip(sections, EXPECTED_COUNTS, strict=True):
        names = re.findall(r"^\d+\. \*\*(.+?)\*\*", section.split("### Risk Mitigation")[0], re.M)
        mitigations = re.findall(
            r"^- \*\*(.+?)\*\*", section.split("### Risk Mitigation")[-1], re.M
        )
        found[stage] = names + [m for m in mitigations if m not in names]
    return found


def test_our_risk_list_is_the_seed_list() -> None:
    if not SEED.exists():
        pytest.skip(f"seed document not present at {SEED}")
    seed = seed_risks()
    for stage, names in seed.items():
        if stage == "secure_pipelines":
            assert names == []  # the seed states this one as a sentence, not a named risk
            continue
        assert list(RISKS[stage]) == names
    assert {s: len(r) for s, r in RISKS.items()} == EXPECTED_COUNTS
    assert len(ALL_RISKS) == 25


def test_every_risk_has_a_control_in_its_stage(pack_policy) -> None:
    for stage, risks in RISKS.items():
        for risk in risks:
            controls = [c.id for c in pack_policy.controls if risk in c.risks]
            assert controls, f"no control of the pack mitigates `{risk}`"
            assert all(c.stage == stage for c in pack_policy.controls if c.id in controls), (
                f"`{risk}` is mitigated outside its stage"
            )


def test_parameters_reach_the_rules(pack_policy) -> None:
    (calibration,) = [c for c in pack_policy.controls if c.id == "MLS-IN-02"]
    predicate = calibration.rules[0].predicate
    assert predicate.conditions[0].value == 0.03  # type: ignore[union-attr]
    assert predicate.role.name == "ml"  # type: ignore[union-attr]
    assert predicate.within.days == 30  # type: ignore[union-attr]


def test_the_catalogue_documents_every_control() -> None:
    text = (REPO / "docs" / "controls.md").read_text(encoding="utf-8")
    pack = (REPO / "policies" / "mlsecops.policy").read_text(encoding="utf-8")
    ids = re.findall(r"^control (\S+)", pack, re.M)
    assert len(ids) >= 25
    for ident in ids:
        assert f"| {ident} |" in text, ident
    for risk in ALL_RISKS:
        assert f"| {risk} |" in text, risk
