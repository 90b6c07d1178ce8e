"""An artifact's bytes wherever DVC keeps them, on a repository in the shape users have it.

Made by the real ``git`` and ``dvc``: a ``dvc add``-ed source, a two-stage
pipeline with a directory output holding a ``.dvcignore``-d file, outputs
git-ignored, a local DVC remote, links signed by ``mlpolicy attest link``
(sha256 and DVC's md5), committed. ``check`` must give the same verdict from
the workspace, from the DVC cache, and from the lock alone (a fresh clone),
find a corrupted cache object, refuse to judge sha256-only signatures of bytes
it does not have, and write nothing in the repository or its cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from policy_engine import api
from policy_engine.cli import main
from policy_engine.produce import links

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
PREPARE = """\
import pathlib
out = pathlib.Path("data/prepared")
out.mkdir(parents=True, exist_ok=True)
rows = pathlib.Path("data/raw.csv").read_text().splitlines()
(out / "train.csv").write_text("\\n".join(rows[:2]) + "\\n")
(out / "test.csv").write_text("\\n".join(rows[2:]) + "\\n")
(out / "run.log").write_text("ignored by .dvcignore\\n")
"""
TRAIN = """\
import pathlib
pathlib.Path("models").mkdir(exist_ok=True)
data = pathlib.Path("data/prepared/train.csv").read_bytes()
pathlib.Path("models/model.pkl").write_bytes(b"model:" + data)
"""
PIPELINE = f"""\
stages:
  prepare:
    cmd: {sys.executable} src/prepare.py
    deps: [src/prepare.py, data/raw.csv]
    outs: [data/prepared]
  train:
    cmd: {sys.executable} src/train.py
    deps: [src/train.py, data/prepared]
    outs: [models/model.pkl]
"""
OUTPUTS = ("data/prepared", "data/raw.csv", "models/model.pkl")
POLICY = """\
policy "real-layout"

attestations in "{links}"

key ml from "keys/ml.pub"
role team = ml
{opt_in}
control SIG-01 "The model is signed by the team at its current bytes" {{
  severity high
  stage model_training
  require every artifact matching "models/*" is signed by team
}}

control INT-01 "Data and models are the bytes DVC and the links recorded" {{
  severity high
  stage data_preparation
  require every artifact matching "data/raw.csv", "data/prepared", "models/*" matches the workspace
}}
"""


def run(cwd: Path, *args: str) -> None:
    command = [str(BIN / "dvc"), *args] if args[0] != "git" else list(args)
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write_policy(folder: Path, links_dir: str = "attestations", opt_in: bool = False) -> Path:
    path = folder / f"{links_dir}-{opt_in}.policy"
    text = POLICY.format(links=links_dir, opt_in="\non unjudged fail\n" if opt_in else "")
    path.write_text(text)
    return path


def sign_links(repo: Path, key: Path, folder: str, md5: bool = True) -> None:
    """Links of both stages in ``folder``; without ``md5``, sha256 only (as before)."""
    with pytest.MonkeyPatch.context() as patch:
        if not md5:
            patch.setattr(links, "with_md5", lambda root, recorded: recorded)
        for stage in ("prepare", "train"):
            args = ("attest", "link", "--key", key, "--stage", stage, "--repo", repo)
            assert mlpolicy(*args, "--dir", repo / folder).exit_code == 0


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository, committed, with its outputs in the workspace, the cache and a remote."""
    base = tmp_path_factory.mktemp("real-layout")
    repo = base / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "src").mkdir()
    run(repo, "git", "init", "-q")
    run(repo, "init", "-q")
    (repo / "data/raw.csv").write_text("a,1\nb,2\nc,3\nd,4\n")
    run(repo, "add", "-q", "data/raw.csv")
    (repo / "src/prepare.py").write_text(PREPARE)
    (repo / "src/train.py").write_text(TRAIN)
    (repo / "dvc.yaml").write_text(PIPELINE)
    (repo / ".dvcignore").write_text("*.log\n")
    run(repo, "repro", "-q")
    assert mlpolicy("keygen", "ml", "--dir", base / "private").exit_code == 0
    (repo / "keys").mkdir()
    shutil.copyfile(base / "private/ml.pub", repo / "keys/ml.pub")
    sign_links(repo, base / "private/ml", "attestations")
    sign_links(repo, base / "private/ml", "attestations-sha256", md5=False)
    run(repo, "remote", "add", "-q", "-d", "local", str(base / "remote"))
    run(repo, "push", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "pipeline, links")
    return repo


@pytest.fixture
def repo(origin: Path, tmp_path: Path) -> Path:
    """A copy of the repository (workspace, cache, git), and its remote beside it."""
    shutil.copytree(origin.parent / "remote", tmp_path / "remote", symlinks=True)
    return Path(shutil.copytree(origin, tmp_path / "repo", symlinks=True))


@pytest.fixture
def clone(repo: Path, tmp_path: Path) -> Path:
    """A fresh clone: what CI has before `dvc pull`, no outputs and no cache."""
    run(tmp_path, "git", "clone", "-q", str(repo), "clone")
    return tmp_path / "clone"


def remove_outputs(repo: Path) -> None:
    for output in OUTPUTS:
        target = repo / output
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def check(repo: Path, policy: Path, *extra: str) -> tuple[Result, dict[str, Any]]:
    result = mlpolicy("check", repo, "--policy", policy, "--no-cache", "--format", "json", *extra)
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result, report


def locations(repo: Path, policy: Path, cache_repo: Path | None = None) -> dict[str, str]:
    loaded = api.load_policy([policy], repo)
    assert loaded.policy is not None
    graph = api.build(loaded.policy, repo, hash_cache=False, cache_repo=cache_repo)
    where: dict[str, str] = {}
    for path in OUTPUTS:
        current = graph.workspace(path)
        where[path] = current.location if current else "not materialised"
    return where


def snapshot(*roots: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under ``roots``: size, mtime and content hash (folders: their listing)."""
    seen: dict[str, tuple[int, int, str]] = {}
    for root in roots:
        for path in sorted([root, *root.rglob("*")]):
            info = path.lstat()
            if path.is_symlink():
                content = os.readlink(path)
            elif path.is_dir():
                content = ",".join(sorted(p.name for p in path.iterdir()))
            else:
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            seen[str(path)] = (info.st_size, info.st_mtime_ns, content)
    return seen


def test_workspace_present_judged_from_the_bytes(repo: Path) -> None:
    policy = write_policy(repo.parent)
    result, report = check(repo, policy)
    assert result.exit_code == 0, result.output
    assert report["findings"] == [] and report["judged_from_lock"] == []
    assert set(locations(repo, policy).values()) == {"workspace"}


def test_outputs_only_in_the_cache_give_the_same_verdict(repo: Path) -> None:
    remove_outputs(repo)
    policy = write_policy(repo.parent)
    result, report = check(repo, policy)
    assert result.exit_code == 0, result.output
    assert report["findings"] == [] and report["judged_from_lock"] == []
    assert set(locations(repo, policy).values()) == {"dvc-cache"}


def test_fresh_clone_is_judged_from_the_lock_and_the_signed_md5(clone: Path) -> None:
    policy = write_policy(clone.parent)
    result, report = check(clone, policy)
    assert result.exit_code == 0, result.output
    assert report["findings"] == []
    assert [a["path"] for a in report["judged_from_lock"]] == sorted(OUTPUTS)
    assert set(locations(clone, policy).values()) == {"not materialised"}
    text = mlpolicy("check", clone, "--policy", policy, "--no-cache")
    assert text.exit_code == 0
    assert "judged from dvc.lock: inherits DVC's md5 (3 artifacts not materialised)" in text.stdout
    assert "- models/model.pkl  md5 " in text.stdout


def test_after_dvc_pull_judged_from_the_bytes(clone: Path) -> None:
    run(clone, "pull", "-q")
    policy = write_policy(clone.parent)
    result, report = check(clone, policy)
    assert result.exit_code == 0, result.output
    assert report["findings"] == [] and report["judged_from_lock"] == []
    assert set(locations(clone, policy).values()) == {"workspace"}


def test_after_dvc_fetch_judged_from_the_cache(clone: Path) -> None:
    run(clone, "fetch", "-q")
    policy = write_policy(clone.parent)
    result, report = check(clone, policy)
    assert result.exit_code == 0, result.output
    assert report["judged_from_lock"] == []
    assert set(locations(clone, policy).values()) == {"dvc-cache"}


def test_another_repository_s_cache_serves_a_clone(clone: Path, repo: Path) -> None:
    policy = write_policy(clone.parent)
    assert set(locations(clone, policy, cache_repo=repo).values()) == {"dvc-cache"}
    loaded = api.load_policy([policy], clone)
    assert loaded.policy is not None
    result = api.check(loaded.policy, clone, hash_cache=False, cache_repo=repo)
    assert result.evaluation.active == () and result.evaluation.undecided == ()


def cache_object(repo: Path, path: str) -> Path:
    lock = (repo / "dvc.lock").read_text()
    md5 = lock.split(f"path: {path}\n", 1)[1].split("md5: ", 1)[1].split()[0]
    return repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]


def test_a_changed_byte_in_a_cache_object_is_a_finding(repo: Path) -> None:
    remove_outputs(repo)
    target = cache_object(repo, "models/model.pkl")
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[0] ^= 1
    target.write_bytes(bytes(data))
    policy = write_policy(repo.parent)
    result, report = check(repo, policy)
    assert result.exit_code == 1, result.output
    controls = {f["control"] for f in report["findings"]}
    assert controls == {"builtin/cache-object"}
    assert report["findings"][0]["subject"] == "models/model.pkl"
    assert locations(repo, policy)["models/model.pkl"] == "not materialised"


def test_sha256_only_signatures_of_missing_bytes_cannot_be_judged(clone: Path) -> None:
    policy = write_policy(clone.parent, "attestations-sha256")
    result, report = check(clone, policy)
    assert result.exit_code == 2
    assert "could not judge" in result.stderr and "`models/model.pkl`" in result.stderr
    assert report["findings"] == []
    assert {c["id"]: c["status"] for c in report["controls"]} == {
        "SIG-01": "undecided",
        "INT-01": "undecided",
    }
    assert {(u["control"], u["subject"]) for u in report["undecided"]} == {
        ("SIG-01", "models/model.pkl"),
        ("INT-01", "data/raw.csv"),
        ("INT-01", "models/model.pkl"),
    }


def test_the_opt_in_makes_them_findings(clone: Path) -> None:
    policy = write_policy(clone.parent, "attestations-sha256", opt_in=True)
    result, report = check(clone, policy)
    assert result.exit_code == 1, result.output
    assert report["undecided"] == []
    messages = {(f["control"], f["subject"]): f["message"] for f in report["findings"]}
    assert set(messages) == {
        ("SIG-01", "models/model.pkl"),
        ("INT-01", "data/raw.csv"),
        ("INT-01", "models/model.pkl"),
    }
    assert all(m.startswith("could not be judged: ") for m in messages.values())


def test_sha256_only_signatures_are_judged_when_the_bytes_are_at_hand(repo: Path) -> None:
    remove_outputs(repo)
    result, report = check(repo, write_policy(repo.parent, "attestations-sha256"))
    assert result.exit_code == 0, result.output
    assert report["undecided"] == []


@pytest.fixture
def repo_and_cache_unchanged(repo: Path, clone: Path) -> Iterator[tuple[Path, Path]]:
    """The repository with its outputs only in its cache, and a clone with neither."""
    remove_outputs(repo)
    before = snapshot(repo, clone)
    yield repo, clone
    assert snapshot(repo, clone) == before


def test_reading_writes_nothing_in_the_repository_or_its_cache(
    repo_and_cache_unchanged: tuple[Path, Path],
) -> None:
    repo, clone = repo_and_cache_unchanged
    for root in (repo, clone):
        for folder in ("attestations", "attestations-sha256"):
            result, _ = check(root, write_policy(root.parent, folder))
            assert result.exit_code in (0, 2), result.output
    loaded = api.load_policy([write_policy(clone.parent)], clone)
    assert loaded.policy is not None
    api.check(loaded.policy, clone, hash_cache=False, cache_repo=repo)
