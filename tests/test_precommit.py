"""The pre-commit hooks, run by the real `pre-commit` against a git repository of the example.

The hooks are this checkout's `.pre-commit-hooks.yaml`, run two ways:

- ``local`` (offline): a `repo: local` config with each declared hook as it is (id,
  entry, files, pass_filenames, ...) but `language: system`, so pre-commit runs the
  entry with the `mlpolicy` of this environment;
- ``installed`` (marked ``network``): as users get them, `repo:` points at a git copy
  of the package and pre-commit installs it, with its dependencies from the package
  index, into its own environment, once for the module (20 to 30 s).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "fixtures" / "example-ml"
BIN = Path(sys.executable).parent
HOOK_IDS = ["mlpolicy-validate", "mlpolicy-check", "mlpolicy-fmt"]
HOOKS_FILE = ".pre-commit-hooks.yaml"
GIT = ("-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT, *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit_all(top: Path) -> str:
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "snapshot")
    return git(top, "rev-parse", "HEAD")


def hooks() -> dict[str, dict[str, object]]:
    return {h["id"]: h for h in yaml.safe_load((ROOT / HOOKS_FILE).read_text())}


def fmt_available() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "policy_engine", "fmt", "--help"], capture_output=True
    )
    return done.returncode == 0


def hook_source(top: Path) -> tuple[Path, str]:
    """A git repository at ``top`` of this checkout as it is now (committed or not); its commit."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (top / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, top / name)
    git(top, "init", "-q")
    return top, commit_all(top)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit's cache for the module: the hook environment is installed once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@dataclass(frozen=True)
class Hooks:
    """Where pre-commit takes the hooks from: an entry of `repos:`, and how the hooks run."""

    repo: dict[str, object]
    installed: bool  # by pre-commit into its own environment (else this environment's)


@pytest.fixture(
    scope="module",
    params=["local", pytest.param("installed", marks=pytest.mark.network)],
)
def hooks_from(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Hooks:
    if request.param == "local":
        declared = hooks()
        local = [{**declared[i], "language": "system"} for i in HOOK_IDS]
        return Hooks({"repo": "local", "hooks": local}, installed=False)
    source, rev = hook_source(tmp_path_factory.mktemp("hook-source") / "mlpolicy")
    repo = {"repo": str(source), "rev": rev, "hooks": [{"id": i} for i in HOOK_IDS]}
    return Hooks(repo, installed=True)


@pytest.fixture
def project(tmp_path: Path, hooks_from: Hooks) -> Path:
    """A git repository of the compliant example that uses the hooks."""
    top = Path(shutil.copytree(EXAMPLE, tmp_path / "project"))
    config = {"repos": [hooks_from.repo]}
    (top / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(top, "init", "-q")
    commit_all(top)
    return top


def run_hook(top: Path, hook: str, home: Path, hooks: Hooks) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "DVC_NO_ANALYTICS": "1"}
    if hooks.installed:
        env.pop("PYTHONPATH", None)  # the hook runs the package pre-commit installed, not this one
    else:
        env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])  # this `mlpolicy`
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "run",
            hook,
            "--all-files",
            "--color",
            "never",
            "--verbose",
        ],
        cwd=top,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_hooks_are_declared_as_documented() -> None:
    declared = hooks()
    assert set(declared) == {"mlpolicy-validate", "mlpolicy-fmt", "mlpolicy-check"}
    assert {h["language"] for h in declared.values()} == {"python"}
    assert declared["mlpolicy-validate"]["entry"] == "mlpolicy validate"
    assert declared["mlpolicy-fmt"]["entry"] == "mlpolicy fmt --check"
    assert declared["mlpolicy-check"]["entry"] == "mlpolicy check"
    assert declared["mlpolicy-fmt"]["pass_filenames"] is True
    assert declared["mlpolicy-validate"]["pass_filenames"] is False
    assert declared["mlpolicy-check"]["pass_filenames"] is False
    assert declared["mlpolicy-check"]["always_run"] is True


@pytest.mark.slow  # the real pre-commit, then mlpolicy, in subprocesses
def test_validate_hook_passes_then_fails_on_a_broken_policy(
    project: Path, pre_commit_home: Path, hooks_from: Hooks
) -> None:
    passed = run_hook(project, "mlpolicy-validate", pre_commit_home, hooks_from)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "mlpolicy validate" in passed.stdout and "Passed" in passed.stdout
    policy = project / "policies" / "pipeline.policy"
    policy.write_text(policy.read_text().replace("performed by ml_team", "performed by ml_teem"))
    failed = run_hook(project, "mlpolicy-validate", pre_commit_home, hooks_from)
    assert failed.returncode == 1
    assert "unknown role `ml_teem`" in failed.stdout


@pytest.mark.slow  # the real pre-commit, then mlpolicy, in subprocesses
def test_check_hook_passes_then_fails_on_a_tampered_model(
    project: Path, pre_commit_home: Path, hooks_from: Hooks
) -> None:
    passed = run_hook(project, "mlpolicy-check", pre_commit_home, hooks_from)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "5 controls passed, 0 findings" in passed.stdout
    model = project / "models" / "model.json"
    model.write_text(model.read_text().replace("{", '{"backdoor": 1, ', 1))
    failed = run_hook(project, "mlpolicy-check", pre_commit_home, hooks_from)
    assert failed.returncode == 1
    assert re.search(r"FAIL +DE-01", failed.stdout), failed.stdout


@pytest.mark.slow  # the real pre-commit, then mlpolicy, in subprocesses
def test_fmt_hook_passes_on_formatted_policies_and_fails_otherwise(
    project: Path, pre_commit_home: Path, hooks_from: Hooks
) -> None:
    if not fmt_available():
        pytest.skip("fmt not available")
    policies = project / "policies"
    subprocess.run([sys.executable, "-m", "policy_engine", "fmt", str(policies)], check=True)
    passed = run_hook(project, "mlpolicy-fmt", pre_commit_home, hooks_from)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "mlpolicy fmt --check" in passed.stdout
    policy = policies / "pipeline.policy"
    policy.write_text(policy.read_text().replace("\n  severity", "\n        severity"))
    failed = run_hook(project, "mlpolicy-fmt", pre_commit_home, hooks_from)
    assert failed.returncode != 0
