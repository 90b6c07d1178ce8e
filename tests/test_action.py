"""The GitHub Action (`action.yml`): its shape, and its run step executed by bash as the runner
would, against a real git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPLIANT = ROOT / "fixtures" / "example-ml"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def step(action: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in action["runs"]["steps"] if s.get("name") == name)


def test_a_composite_action_that_installs_itself_and_uploads_sarif(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    install = step(action, "Install mlpolicy")
    assert "pip install" in install["run"] and '"${{ github.action_path }}"' in install["run"]
    upload = step(action, "Upload SARIF to code scanning")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert 'exit "${STATUS}"' in step(action, "Fail on violations")["run"]
    assert {"base", "fail-on", "fail-on-unchanged", "repository", "sarif-file"} <= set(
        action["inputs"]
    )


def run_step(action: dict[str, Any], cwd: Path, tmp: Path, **inputs: str) -> dict[str, str]:
    """Runs the "Run mlpolicy" step with bash; returns what it wrote to GITHUB_OUTPUT."""
    defaults = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    values = defaults | inputs
    env = dict(os.environ)
    for key, value in step(action, "Run mlpolicy")["env"].items():
        name = value.removeprefix("${{ inputs.").removesuffix(" }}")
        env[key] = values.get(name, value)
    output, summary = tmp / "output", tmp / "summary.md"
    env |= {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    script = step(action, "Run mlpolicy")["run"]
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.mark.slow  # the step's bash script: git, then mlpolicy diff three times
def test_the_run_step_diffs_against_the_base_and_writes_sarif_and_a_summary(
    action: dict[str, Any], tmp_path: Path
) -> None:
    top = tmp_path / "project"
    shutil.copytree(COMPLIANT, top / "ml")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=top, env=env, check=True)
    (top / "ml" / "metrics" / "eval.json").write_text('{"accuracy": 1.0}\n')
    sarif = tmp_path / "out.sarif"
    outputs = run_step(
        action, top, tmp_path, repository="ml", base="HEAD", **{"sarif-file": str(sarif)}
    )
    assert outputs == {"exit-code": "1", "sarif": "true"}
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert {r["baselineState"] for r in results} == {"new"}
    assert {r["ruleId"] for r in results} == {"DE-02", "builtin/digest-mismatch"}
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("ml/")
    assert "### mlpolicy diff: ❌ 2 new findings" in (tmp_path / "summary.md").read_text()
