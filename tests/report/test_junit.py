"""JUnit XML: one case per control and subject, parsed back with the standard library."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from typing import Any

from policy_engine.compiler.ir import Waiver
from policy_engine.report.junit import render_junit, render_junit_diff
from policy_engine.results import CheckResult, LoadedPolicy

Tampered = tuple[LoadedPolicy, CheckResult]


def cases(xml: str) -> dict[tuple[str, str], ET.Element]:
    root = ET.fromstring(xml)
    return {(c.get("classname", ""), c.get("name", "")): c for c in root.iter("testcase")}


def test_each_failing_subject_is_a_failure_with_message_and_evidence(tampered: Tampered) -> None:
    xml = render_junit(tampered[1], "fixtures/example-ml-tampered")
    found = cases(xml)
    failures = {key for key, case in found.items() if case.find("failure") is not None}
    assert failures == {
        ("DP-01", "featurize"),
        ("TR-02", "models/model.json"),
        ("DE-01", "models/model.json"),
        ("builtin/digest-mismatch", "data/features/train.csv"),
        ("builtin/digest-mismatch", "models/model.json"),
    }
    failure = found[("DE-01", "models/model.json")].find("failure")
    assert failure is not None
    assert failure.get("type") == "critical unsigned-artifact"
    assert "its bytes changed after they were signed" in failure.get("message", "")
    assert "evidence: workspace sha256: " in (failure.text or "")
    assert found[("DE-01", "models/model.json")].get("file") == "policies/pipeline.policy"


def test_clean_controls_are_passing_cases_and_counts_add_up(tampered: Tampered) -> None:
    root = ET.fromstring(render_junit(tampered[1], "repo"))
    found = cases(render_junit(tampered[1], "repo"))
    passing = {k for k, c in found.items() if len(c) == 0}
    assert passing == {("TR-01", "every subject (1)"), ("DE-02", "every subject (1)")}
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("7", "5", "0")
    assert root.get("tests") == "7"


def test_diff_fails_new_skips_unchanged_and_passes_fixed(make_diff: Any) -> None:
    found = cases(render_junit_diff(make_diff()))
    assert found[("DE-01", "models/model.json")].find("failure") is not None
    skipped = found[("builtin/digest-mismatch", "models/model.json")].find("skipped")
    assert skipped is not None and "unchanged since `main`" in skipped.get("message", "")
    fixed = found[("TR-02", "models/model.json (fixed)")]
    assert len(fixed) == 0
    strict = cases(render_junit_diff(make_diff(fail_on_unchanged=True)))
    assert strict[("builtin/digest-mismatch", "models/model.json")].find("failure") is not None


def test_characters_xml_cannot_carry_are_replaced(tampered: Tampered) -> None:
    _, result = tampered
    odd = replace(result.evaluation.findings[0], subject="bad\x01name", message="a\x1bb <&>")
    evaluation = replace(result.evaluation, findings=(odd,))
    xml = render_junit(replace(result, evaluation=evaluation), "repo")
    case = cases(xml)[(odd.control, "bad\ufffdname")]
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == "a\ufffdb <&>"


def test_a_waived_finding_is_skipped_not_failed(tampered: Tampered) -> None:
    _, result = tampered
    first = result.evaluation.findings[0]
    waiver = Waiver(
        first.control, (first.subject,), "bob", "legacy", date(2099, 1, 1), first.location
    )
    findings = (replace(first, waiver=waiver), *result.evaluation.findings[1:])
    xml = render_junit(
        replace(result, evaluation=replace(result.evaluation, findings=findings)), "r"
    )
    case = cases(xml)[(first.control, first.subject)]
    skipped = case.find("skipped")
    assert case.find("failure") is None and skipped is not None
    assert "waived by bob" in skipped.get("message", "")
    assert ET.fromstring(xml).get("failures") == "4"
