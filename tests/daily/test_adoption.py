"""Adoption on a real DVC repository (made by the dvc CLI in a temporary folder): `init`
scaffolds a policy that validates, `attest link --all` signs every stage (refusing changed
ones), then `check` passes; `keygen` keeps private keys out of git work trees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from policy_engine.api import load_policy
from policy_engine.cli.main import main

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "GIT_CONFIG_NOSYSTEM": "1",
}
PIPELINE = f"""\
stages:
  prepare:
    cmd: {sys.executable} -c "import shutil; shutil.copy('data/raw.csv', 'data/clean.csv')"
    deps: [data/raw.csv]
    outs: [data/clean.csv]
  train_model:
    cmd: {sys.executable} -c "open('models/model.pkl', 'w').write(open('data/clean.csv').read())"
    deps: [data/clean.csv]
    outs: [models/model.pkl]
  report:
    cmd: {sys.executable} -c "open('summary.txt', 'w').write('ok')"
    deps: [models/model.pkl]
    outs: [summary.txt]
"""


def run(cwd: Path, *args: str) -> None:
    command = [str(BIN / "dvc"), *args] if args[0] != "git" else list(args)
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


def mlpolicy(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLPOLICY_KEY_DIR", str(tmp_path / "user-keys"))
    top = tmp_path / "fraud"
    (top / "data").mkdir(parents=True)
    (top / "models").mkdir()
    run(top, "git", "init", "-q")
    run(top, "init", "-q")
    (top / "data" / "raw.csv").write_text("id,amount\n1,10\n2,20\n")
    run(top, "add", "-q", "data/raw.csv")
    (top / "dvc.yaml").write_text(PIPELINE)
    run(top, "repro", "-q")
    return top


@pytest.mark.slow
def test_init_then_attest_all_then_check_passes(repo: Path, tmp_path: Path) -> None:
    result = mlpolicy("init", repo)
    assert result.exit_code == 0, result.output
    assert "stage data_preparation: prepare (name)" in result.output
    assert "stage model_training: train_model (name)" in result.output
    assert "not mapped (edit the policy): report" in result.output
    private = tmp_path / "user-keys" / "fraud" / "pipeline"
    assert private.is_file() and not (repo / "keys" / "pipeline").exists()
    assert (repo / "keys" / "pipeline.pub").is_file()
    assert (repo / "policies" / "ci" / "github-actions.yml").read_text().count("mlpolicy") > 3
    next_commands = result.output.split("next:\n")[1].splitlines()
    assert [line.split()[1] for line in next_commands] == ["attest", "check", "test"]
    loaded = load_policy([repo / "policies"], repo)
    assert loaded.ok and not loaded.diagnostics, loaded.diagnostics
    assert mlpolicy("test", "--repo", repo).exit_code == 0
    assert mlpolicy("check", repo).exit_code == 1  # nothing signed yet
    signed = mlpolicy("attest", "link", "--all", "--key", private, "--repo", repo)
    assert signed.exit_code == 0, signed.output
    assert len(list((repo / "attestations").glob("*.link"))) == 3
    checked = mlpolicy("check", repo)
    assert checked.exit_code == 0, checked.output


@pytest.mark.slow
def test_init_refuses_to_replace_a_policy_and_needs_a_dvc_pipeline(
    repo: Path, tmp_path: Path
) -> None:
    assert mlpolicy("init", repo).exit_code == 0
    again = mlpolicy("init", repo)
    assert again.exit_code == 2 and "already exists" in again.output
    assert mlpolicy("init", repo, "--force").exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = mlpolicy("init", empty)
    assert refused.exit_code == 2 and "no DVC stage" in refused.output


@pytest.mark.slow
def test_attest_link_refuses_a_changed_stage_unless_forced(repo: Path, tmp_path: Path) -> None:
    key = tmp_path / "k" / "signer"
    assert mlpolicy("keygen", "signer", "--dir", key.parent).exit_code == 0
    (repo / "models" / "model.pkl").write_text("edited by hand")
    args = ("attest", "link", "--key", key, "--repo", repo, "--stage", "prepare")
    refused = mlpolicy(*args, "--stage", "train_model")
    assert refused.exit_code == 2
    assert "`train_model`: `models/model.pkl` is not the file `dvc.lock` records" in refused.output
    assert not (repo / "attestations").exists()
    assert mlpolicy(*args).exit_code == 0  # an unchanged stage alone is signed
    forced = mlpolicy(*args, "--stage", "train_model", "--force")
    assert forced.exit_code == 0, forced.output
    assert len(list((repo / "attestations").glob("*.link"))) == 2
    usage = mlpolicy("attest", "link", "--key", key, "--repo", repo)
    assert usage.exit_code == 2 and "--all" in usage.output


def test_keygen_keeps_the_private_key_in_the_user_folder(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    env = {"MLPOLICY_KEY_DIR": str(tmp_path / "user")}
    result = mlpolicy("keygen", "alice", "--repo", repo, "--public-dir", repo / "keys", env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "user" / "alice").is_file() and (repo / "keys" / "alice.pub").is_file()
    assert 'key alice from "keys/alice.pub"' in result.output


def test_keygen_refuses_a_private_key_inside_a_git_work_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    refused = mlpolicy("keygen", "bob", "--dir", repo / "keys")
    assert refused.exit_code == 2 and "inside the git work tree" in refused.output
    assert not (repo / "keys").exists()
    forced = mlpolicy("keygen", "bob", "--dir", repo / "keys", "--repo", repo, "--force")
    assert forced.exit_code == 0 and 'key bob from "keys/bob.pub"' in forced.output
