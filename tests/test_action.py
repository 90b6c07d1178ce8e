"""The GitHub Action (`action.yml`): its shape, and its run steps executed by bash as the runner
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

pytestmark = pytest.mark.slow  # the command end to end, over real repositories

ROOT = Path(__file__).resolve().parents[1]
COMPLIANT = ROOT / "fixtures" / "example-ml"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}
# A stand-in for a command: it logs its arguments, one run per line, and succeeds.
LOGGING_COMMAND = '#!/bin/sh\necho "$*" >> "$COMMAND_LOG"\n'
# A wrapper of the real mlpolicy that logs each run.
COUNTING_MLPOLICY = (
    '#!/bin/sh\necho "$*" >> "$COMMAND_LOG"\nexec "{python}" -m policy_engine "$@"\n'
)


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
    assert upload["with"]["sarif_file"] == "${{ steps.run.outputs.sarif-file }}"
    assert 'exit "${STATUS}"' in step(action, "Fail on violations")["run"]
    assert {"base", "fail-on", "fail-on-unchanged", "repository", "sarif-file"} <= set(
        action["inputs"]
    )


def test_inputs_for_dvc_pull_and_the_diffs_policy(action: dict[str, Any]) -> None:
    inputs = action["inputs"]
    assert {"dvc-pull", "dvc-remote", "dvc-packages"} <= set(inputs)
    assert {"allow-policy-change", "policy-from"} <= set(inputs)
    assert (inputs["dvc-pull"]["default"], inputs["allow-policy-change"]["default"]) == (
        "false",
        "false",
    )
    assert inputs["policy-from"]["default"] == ""  # mlpolicy's default: the base's policy
    assert inputs["sarif-file"]["default"] == ""  # under $RUNNER_TEMP
    pull = step(action, "Pull the DVC outputs")
    assert pull["if"] == "inputs.dvc-pull == 'true'"
    assert pull["working-directory"] == "${{ inputs.repository }}"
    assert pull["env"]["DVC_NO_ANALYTICS"] == "1"


def test_pip_and_the_hash_cache_are_cached_between_runs(action: dict[str, Any]) -> None:
    pip, hashes = step(action, "Cache pip downloads"), step(action, "Cache file digests")
    for cached in (pip, hashes):
        assert cached["uses"].startswith("actions/cache@")
    assert pip["with"]["key"] == "${{ steps.keys.outputs.pip }}"
    assert hashes["with"]["path"] == "${{ steps.keys.outputs.hash-dir }}"
    assert hashes["with"]["restore-keys"] == "${{ steps.keys.outputs.hashes-prefix }}"
    run = step(action, "Run mlpolicy")
    assert run["env"]["MLPOLICY_CACHE_DIR"] == "${{ steps.keys.outputs.hash-dir }}"
    names = [s.get("name") for s in action["runs"]["steps"]]
    assert names.index("Cache file digests") < names.index("Run mlpolicy")


# -- running the steps' scripts ----------------------------------------------------------


def expand(value: str, inputs: dict[str, str], contexts: dict[str, str]) -> str:
    """A step's ``env`` value with its one ``${{ ... }}`` expression replaced."""
    if not value.startswith("${{"):
        return value
    expression = value.removeprefix("${{ ").removesuffix(" }}")
    if expression.startswith("inputs."):
        return inputs[expression.removeprefix("inputs.")]
    return contexts[expression]


def run_script(
    action: dict[str, Any],
    name: str,
    cwd: Path,
    tmp: Path,
    bin_dir: Path | None = None,
    **inputs: str,
) -> dict[str, str]:
    """Runs the named step with bash as the runner would; returns what it wrote to GITHUB_OUTPUT."""
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()} | inputs
    contexts = {"steps.keys.outputs.hash-dir": str(tmp / "runner-temp" / "mlpolicy-hash-cache")}
    env = dict(os.environ)
    for key, value in step(action, name).get("env", {}).items():
        env[key] = expand(value, values, contexts)
    output = tmp / "output"
    output.unlink(missing_ok=True)
    env |= {
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(tmp / "runner-temp"),
        "RUNNER_OS": "Linux",
        "COMMAND_LOG": str(tmp / "commands.log"),
    }
    path = [str(Path(sys.executable).parent), env["PATH"]]
    env["PATH"] = os.pathsep.join([str(bin_dir), *path] if bin_dir else path)
    script = step(action, name)["run"]
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = output.read_text() if output.exists() else ""
    return dict(line.split("=", 1) for line in text.splitlines())


def command(tmp: Path, name: str, text: str) -> Path:
    """A folder with an executable ``name`` holding ``text``, for the front of PATH."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(text)
    path.chmod(0o755)
    return bin_dir


def commands(tmp: Path) -> list[str]:
    log = tmp / "commands.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with the compliant example in ``ml/``, one uncommitted change."""
    top = tmp_path / "project"
    shutil.copytree(COMPLIANT, top / "ml")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=top, env=env, check=True)
    (top / "ml" / "metrics" / "eval.json").write_text('{"accuracy": 1.0}\n')
    return top


@pytest.mark.slow  # the step's bash script: git, then mlpolicy diff
def test_the_run_step_diffs_against_the_base_and_writes_sarif_and_a_summary(
    action: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    sarif = tmp_path / "out.sarif"
    outputs = run_script(
        action,
        "Run mlpolicy",
        project,
        tmp_path,
        repository="ml",
        base="HEAD",
        **{"sarif-file": str(sarif)},
    )
    reports = tmp_path / "runner-temp" / "mlpolicy"
    assert outputs == {
        "exit-code": "1",
        "sarif": "true",
        "sarif-file": str(sarif),
        "json-file": str(reports / "mlpolicy.json"),
        "markdown-file": str(reports / "mlpolicy.md"),
    }
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert {r["baselineState"] for r in results} == {"new"}
    assert {r["ruleId"] for r in results} == {"DE-02", "builtin/digest-mismatch"}
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("ml/")
    assert "### mlpolicy diff: ❌ 2 new findings" in (tmp_path / "summary.md").read_text()


def untracked(top: Path) -> list[str]:
    """Files git sees as new or changed, ignored ones included."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=top,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(done.stdout.splitlines())


def test_the_engine_runs_once_and_every_report_lands_outside_the_work_tree(
    action: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    before = untracked(project)
    bin_dir = command(tmp_path, "mlpolicy", COUNTING_MLPOLICY.format(python=sys.executable))
    outputs = run_script(
        action, "Run mlpolicy", project, tmp_path, bin_dir, repository="ml", base="HEAD"
    )
    assert len(commands(tmp_path)) == 1
    reports = tmp_path / "runner-temp" / "mlpolicy"
    assert outputs["sarif-file"] == str(reports / "mlpolicy.sarif")
    document = json.loads((reports / "mlpolicy.json").read_text())
    sarif = json.loads((reports / "mlpolicy.sarif").read_text())
    assert document["summary"]["new"] == len(sarif["runs"][0]["results"]) == 2
    markdown = (reports / "mlpolicy.md").read_text()
    assert (tmp_path / "summary.md").read_text() == markdown
    assert untracked(project) == before


@pytest.mark.parametrize(
    ("inputs", "expected", "absent"),
    [
        (
            {"base": "HEAD", "allow-policy-change": "true", "policy-from": "head"},
            ["diff ml --base HEAD", "--allow-policy-change", "--policy-from head"],
            [],
        ),
        ({"base": "HEAD"}, ["diff ml --base HEAD"], ["--allow-policy-change", "--policy-from"]),
        (
            {"allow-policy-change": "true", "policy-from": "head"},
            ["check ml", "--report json=", "--report sarif=", "--report markdown="],
            ["--allow-policy-change", "--policy-from"],
        ),
    ],
    ids=["diff-with-policy-inputs", "diff-defaults", "check-ignores-diff-inputs"],
)
def test_the_inputs_become_options_of_the_one_run(
    action: dict[str, Any],
    project: Path,
    tmp_path: Path,
    inputs: dict[str, str],
    expected: list[str],
    absent: list[str],
) -> None:
    bin_dir = command(tmp_path, "mlpolicy", LOGGING_COMMAND)
    run_script(action, "Run mlpolicy", project, tmp_path, bin_dir, repository="ml", **inputs)
    (line,) = commands(tmp_path)
    assert all(part in line for part in expected), line
    assert not any(part in line for part in absent), line


def test_the_pull_step_runs_dvc_pull_from_the_remote_given(
    action: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    bin_dir = command(tmp_path, "dvc", LOGGING_COMMAND)
    run_script(action, "Pull the DVC outputs", project / "ml", tmp_path, bin_dir)
    run_script(
        action, "Pull the DVC outputs", project / "ml", tmp_path, bin_dir, **{"dvc-remote": "s3"}
    )
    assert commands(tmp_path) == ["pull", "pull --remote s3"]


def test_the_cache_keys_follow_the_engine_and_the_lock(
    action: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    first = run_script(action, "Cache keys", project, tmp_path, repository="ml")
    (project / "ml" / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    second = run_script(action, "Cache keys", project, tmp_path, repository="ml")
    assert first["pip"] == second["pip"] and first["pip"].startswith("mlpolicy-pip-Linux-py3.11-")
    assert first["hashes"] != second["hashes"]
    assert first["hashes"].startswith(first["hashes-prefix"])
    assert first["hash-dir"] == str(tmp_path / "runner-temp" / "mlpolicy-hash-cache")
