"""A DVC directory output is signed when every file of its `.dir` manifest is signed.

Links record a folder's files one by one, so no link names the folder itself: the
repository is made by real git and dvc, the link by `mlpolicy attest link`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from policy_engine.cli.main import main

pytestmark = pytest.mark.slow

KEYS = Path(__file__).resolve().parents[1] / "fixtures" / "keys"
PIPELINE = """\
stages:
  split:
    cmd: python split.py
    deps:
      - split.py
    outs:
      - out
"""
SPLIT = """\
import os

os.makedirs("out", exist_ok=True)
for name in "ab":
    with open(f"out/{name}.txt", "w") as f:
        f.write(name)
"""
POLICY = """\
policy "folders"
attestations in "attestations"
key ml from "keys/ml-engineer.pub"
role team = ml
control DE-01 "The split folder is signed" {
  severity high
  stage model_deployment
  require every artifact matching "out" is signed by team
}
"""


def run(repo: Path, *command: str) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("folders") / "repo"
    (repo / "keys").mkdir(parents=True)
    shutil.copyfile(KEYS / "ml-engineer.pub", repo / "keys" / "ml-engineer.pub")
    (repo / "dvc.yaml").write_text(PIPELINE)
    (repo / "split.py").write_text(SPLIT)
    (repo / "policies").mkdir()
    (repo / "policies" / "p.policy").write_text(POLICY)
    run(repo, "git", "init", "-q")
    run(repo, sys.executable, "-m", "dvc", "init", "-q")
    run(repo, sys.executable, "-m", "dvc", "repro", "-q")
    return repo


@pytest.fixture
def repo(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(built, copy, symlinks=True)
    return copy


def mlpolicy(*args: str | Path) -> tuple[int, dict[str, Any] | str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    text = result.stdout
    return result.exit_code, json.loads(text) if text.startswith("{") else result.output


def findings(repo: Path) -> tuple[int, list[tuple[str, str, str]]]:
    code, report = mlpolicy("check", repo, "--format", "json", "--no-cache")
    assert isinstance(report, dict), report
    return code, [(f["control"], f["subject"], f["message"]) for f in report["findings"]]


def test_a_folder_whose_every_file_is_signed_is_signed(repo: Path) -> None:
    code, output = mlpolicy(
        "attest", "link", "--key", KEYS / "ml-engineer", "--stage", "split", "--repo", repo
    )
    assert code == 0, output
    assert findings(repo) == (0, [])


def test_one_changed_file_unsigns_the_folder(repo: Path) -> None:
    code, output = mlpolicy(
        "attest", "link", "--key", KEYS / "ml-engineer", "--stage", "split", "--repo", repo
    )
    assert code == 0, output
    (repo / "out" / "b.txt").write_text("changed")
    code, found = findings(repo)
    assert code == 1
    (message,) = [m for control, subject, m in found if (control, subject) == ("DE-01", "out")]
    assert "1 of its 2 files are not signed: `out/b.txt`" in message


def test_an_unsigned_folder_is_not_signed(repo: Path) -> None:
    (repo / "attestations").mkdir()
    code, found = findings(repo)
    assert code == 1
    (message,) = [m for control, subject, m in found if (control, subject) == ("DE-01", "out")]
    assert "2 of its 2 files are not signed" in message
