"""`mlpolicy explain`: why a control passed or failed, as a tree down to the evidence; the JSON
has the same tree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from policy_engine.cli.main import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _explain(repo: str, *args: str) -> tuple[int, str]:
    command = ["explain", str(FIXTURES / repo), "--at", "2026-11-20", *args]
    result = CliRunner().invoke(main, command)
    return result.exit_code, result.output


def _walk(node: dict[str, Any], depth: int = 0) -> list[tuple[int, str, str]]:
    rows = [(depth, node["label"], node["status"])]
    for child in node["children"]:
        rows += _walk(child, depth + 1)
    return rows


def test_a_failing_control_is_explained_down_to_the_evidence() -> None:
    code, output = _explain("example-ml-tampered", "-c", "DE-01")
    assert code == 1
    lines = output.splitlines()
    assert lines[0].startswith("✗ DE-01 ") and "[fail]" in lines[0]
    assert "└─ ✗ rule 1: every artifacts matching `models/**` [fail]" in lines[1]
    assert "✗ models/model.json [fail]" in lines[2]
    assert "✗ is signed by ml_team [fail]: its bytes changed after they were signed" in lines[3]
    assert "· workspace sha256: 8c47ede3" in lines[4]


def test_the_json_has_the_same_tree_as_the_text() -> None:
    _, text = _explain("example-ml-tampered", "-c", "DP-01")
    code, output = _explain("example-ml-tampered", "-c", "DP-01", "--format", "json")
    assert code == 1
    (control,) = json.loads(output)["controls"]
    rows = _walk(control)
    text_lines = [line for line in text.splitlines() if line]
    assert len(rows) == len(text_lines)
    for (_, label, status), line in zip(rows, text_lines, strict=True):
        assert label in line
        assert status == "info" or f"[{status}]" in line
    assert ("featurize", "fail") in [(label, status) for _, label, status in rows]


def test_a_passing_control_exits_0_and_subjects_can_be_chosen() -> None:
    code, output = _explain("example-ml", "-c", "DP-*", "-s", "prepare")
    assert code == 0
    assert "✓ prepare [pass]" in output and "ingest" not in output


def test_no_matching_control_is_a_usage_error() -> None:
    code, output = _explain("example-ml", "-c", "NOPE-*")
    assert code == 2 and "no control matches" in output
