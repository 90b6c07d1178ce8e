"""SARIF 2.1.0: valid against the official schema, one rule per control, located results."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from policy_engine.cli import main
from policy_engine.cli.common import REPORT_FORMATS
from policy_engine.compiler.ir import Waiver
from policy_engine.report import DIFF_REPORTERS, REPORTERS
from policy_engine.report.sarif import render_sarif, render_sarif_diff
from policy_engine.results import CheckResult, LoadedPolicy

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"
TAMPERED = Path(__file__).resolve().parents[2] / "fixtures" / "example-ml-tampered"
Tampered = tuple[LoadedPolicy, CheckResult]


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def sarif(tampered: Tampered, repository: str = "fixtures/example-ml-tampered") -> dict[str, Any]:
    return json.loads(render_sarif(tampered[1], repository))


def errors(validator: jsonschema.protocols.Validator, log: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def test_check_output_is_valid_sarif_2_1_0(tampered: Tampered, validator: Any) -> None:
    log = sarif(tampered)
    assert errors(validator, log) == []
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == 5


def test_diff_output_is_valid_and_states_each_results_baseline(
    make_diff: Any, validator: Any
) -> None:
    log = json.loads(render_sarif_diff(make_diff()))
    assert errors(validator, log) == []
    run = log["runs"][0]
    states = {(r["ruleId"], r["baselineState"]) for r in run["results"]}
    assert ("DE-01", "new") in states and ("DP-01", "new") in states
    assert ("builtin/digest-mismatch", "unchanged") in states
    assert "TR-02" not in {r["ruleId"] for r in run["results"]}  # fixed: not an open alert
    assert run["properties"]["fixed"] == 1


def test_a_broken_log_fails_the_schema(tampered: Tampered, validator: Any) -> None:
    log = sarif(tampered)
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(errors(validator, log)) == 2


def test_one_rule_per_control_with_title_severity_and_help(tampered: Tampered) -> None:
    rules = sarif(tampered)["runs"][0]["tool"]["driver"]["rules"]
    controls = {c.id: c for c in tampered[0].policy.controls}  # type: ignore[union-attr]
    assert [r["id"] for r in rules] == [*controls, "builtin/digest-mismatch"]
    for rule in rules[: len(controls)]:
        control = controls[rule["id"]]
        assert rule["shortDescription"]["text"] == control.title
        assert rule["properties"]["severity"] == control.severity
        assert f"policies/pipeline.policy:{control.location.line}" in rule["help"]["text"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels["DE-01"] == "error" and levels["DE-02"] == "warning"
    assert rules[-1]["properties"]["security-severity"] == "8.0"


def _uri_line(location: dict[str, Any]) -> tuple[str, int, int | None]:
    physical = location["physicalLocation"]
    region = physical.get("region", {})
    return physical["artifactLocation"]["uri"], region.get("startLine"), region.get("startColumn")


def test_results_are_at_the_pipeline_definition_and_name_the_policy_rule(
    tampered: Tampered,
) -> None:
    results = sarif(tampered)["runs"][0]["results"]
    findings = tampered[1].evaluation.findings
    prefix = "fixtures/example-ml-tampered/"
    for result, finding in zip(results, findings, strict=True):
        assert result["ruleId"] == finding.control
        rule = (prefix + finding.location.file, finding.location.line, finding.location.column)
        source = finding.subject_source
        if source is None:
            assert _uri_line(result["locations"][0]) == rule
            assert "relatedLocations" not in result
        else:
            assert _uri_line(result["locations"][0]) == (prefix + source.file, source.line, None)
            assert [_uri_line(r) for r in result["relatedLocations"]] == [rule]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]
    featurize = next(r for r in results if r["ruleId"] == "DP-01")
    assert _uri_line(featurize["locations"][0])[:1] == (prefix + "dvc.yaml",)


def test_results_carry_kind_stage_and_evidence(tampered: Tampered) -> None:
    results = sarif(tampered)["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    de01 = by_rule["DE-01"]
    assert de01["level"] == "error"
    assert de01["properties"]["kind"] == "unsigned-artifact"
    assert de01["properties"]["stage"] == "model_deployment"
    labels = [e["label"] for e in de01["properties"]["evidence"]]
    assert "workspace sha256" in labels
    assert de01["message"]["text"].startswith("models/model.json: ")
    fingerprints = {r["partialFingerprints"]["mlpolicyFinding/v1"] for r in results}
    assert len(fingerprints) == len(results)


def test_output_is_deterministic_across_evaluations(tampered: Tampered, evaluate: Any) -> None:
    again = evaluate()
    assert render_sarif(again[1], "x") == render_sarif(tampered[1], "x")


def test_an_absolute_repository_gives_file_uris(tampered: Tampered) -> None:
    result = sarif(tampered, str(TAMPERED))["runs"][0]["results"][0]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (TAMPERED / "dvc.yaml").as_uri()
    assert "uriBaseId" not in result["locations"][0]["physicalLocation"]["artifactLocation"]


def test_every_format_is_registered_for_check_and_diff() -> None:
    assert tuple(REPORTERS) == tuple(DIFF_REPORTERS) == REPORT_FORMATS


def test_check_writes_sarif_from_the_command_line(tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    args = ["check", str(TAMPERED), "--format", "sarif", "--output", str(target)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert json.loads(target.read_text())["runs"][0]["tool"]["driver"]["name"] == "mlpolicy"


def test_a_finding_defined_nowhere_is_located_at_its_rule(tampered: Tampered) -> None:
    _, result = tampered
    findings = tuple(replace(f, subject_source=None) for f in result.evaluation.findings)
    bare = replace(result, evaluation=replace(result.evaluation, findings=findings))
    first = json.loads(render_sarif(bare, "repo"))["runs"][0]["results"][0]
    location = findings[0].location
    expected = ("repo/" + location.file, location.line, location.column)
    assert _uri_line(first["locations"][0]) == expected
    assert "relatedLocations" not in first


def test_a_waived_finding_is_an_accepted_suppression(tampered: Tampered, validator: Any) -> None:
    _, result = tampered
    first = result.evaluation.findings[0]
    waiver = Waiver(
        first.control, (first.subject,), "alice", "known", date(2099, 1, 1), first.location
    )
    findings = (replace(first, waiver=waiver), *result.evaluation.findings[1:])
    waived = replace(result, evaluation=replace(result.evaluation, findings=findings))
    log = json.loads(render_sarif(waived, "repo"))
    assert errors(validator, log) == []
    results = log["runs"][0]["results"]
    (suppression,) = results[0]["suppressions"]
    assert suppression["status"] == "accepted" and "alice" in suppression["justification"]
    assert all("suppressions" not in r for r in results[1:])
