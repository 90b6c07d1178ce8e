"""A diff's policy change is a result of its own in every diff format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from policy_engine.report import DIFF_REPORTERS
from policy_engine.results import PolicyChange

CHANGE = PolicyChange(("policies/pipeline.policy",), ("ml_engineer",), (), ("DE-01",), ("TR-01",))


def test_a_blocking_change_fails_and_says_how_to_allow_it(make_diff: Any) -> None:
    diff = make_diff(policy_change=CHANGE)
    assert diff.fails and diff.policy_change_fails
    for fmt, render in DIFF_REPORTERS.items():
        out = render(diff)
        assert "--allow-policy-change" in out or fmt == "json", fmt
        assert "DE-01" in out and "engineer" in out, fmt


def test_the_json_has_the_change_under_a_stable_key(make_diff: Any) -> None:
    report = json.loads(DIFF_REPORTERS["json"](make_diff(policy_change=CHANGE)))
    assert report["policy_changed"] is True
    assert report["policy_change"] == {
        "files": ["policies/pipeline.policy"],
        "keys": ["ml_engineer"],
        "controls_added": [],
        "controls_removed": ["DE-01"],
        "controls_changed": ["TR-01"],
        "base_has_policy": True,
        "allowed": False,
        "fails": True,
    }
    assert report["policy_from"] == report["judged_with"] == "base"


@pytest.mark.parametrize(("kw", "level"), [({}, "error"), ({"allow_policy_change": True}, "note")])
def test_sarif_reports_the_change_as_a_result(
    make_diff: Any, kw: dict[str, bool], level: str
) -> None:
    run = json.loads(DIFF_REPORTERS["sarif"](make_diff(policy_change=CHANGE, **kw)))["runs"][0]
    [result] = [r for r in run["results"] if r["ruleId"] == "mlpolicy/policy-change"]
    assert result["level"] == level
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "fixtures/example-ml-tampered/policies/pipeline.policy"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "mlpolicy/policy-change"


def test_junit_has_a_failing_case_unless_allowed(make_diff: Any) -> None:
    def case(**kw: Any) -> ET.Element:
        root = ET.fromstring(DIFF_REPORTERS["junit"](make_diff(policy_change=CHANGE, **kw)))
        [found] = [
            c for c in root.iter("testcase") if c.get("classname") == "mlpolicy/policy-change"
        ]
        return found

    assert case().find("failure") is not None
    assert case(allow_policy_change=True).find("failure") is None


def test_an_allowed_change_passes_the_gate(make_diff: Any) -> None:
    diff = make_diff(policy_change=CHANGE, allow_policy_change=True)
    assert not diff.policy_change_fails
    assert diff.fails == bool(diff.failing)
    assert "is allowed by --allow-policy-change" in DIFF_REPORTERS["markdown"](diff)


def test_no_change_adds_nothing(make_diff: Any) -> None:
    diff = make_diff()
    assert "policy change" not in DIFF_REPORTERS["text"](diff)
    assert "mlpolicy/policy-change" not in DIFF_REPORTERS["sarif"](diff)
    assert "mlpolicy/policy-change" not in DIFF_REPORTERS["junit"](diff)
