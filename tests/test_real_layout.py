"""End to end on the example repository as users have it (fixtures/realrepo.py): outputs
git-ignored, their bytes in the DVC cache and a DVC remote, a branch per regression.

Every clone is a fresh ``git clone`` of the generated repository: "lock" clones are what
CI checks out (no ``dvc pull``: the lock and the signed md5 are all there is), "pulled"
clones have run ``dvc pull`` (the bytes, in the work tree and the cache).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from policy_engine.cli.main import main

pytestmark = pytest.mark.slow

MODEL = "models/model.json"
POLICY = "policies/pipeline.policy"
MODES = ("lock", "pulled")
Key = tuple[str, str]  # (control, subject)

# The finding each regression branch must bring, judged with the base's policy.
REGRESSIONS: dict[str, Key] = {
    "edit-model": ("DE-01", MODEL),
    "retrain-unsigned": ("DE-01", MODEL),
    "delete-attestation": ("TR-04", MODEL),
    "untrusted-signer": ("DP-01", "featurize"),
    "below-threshold": ("TR-03", "train"),
    "weaken-policy": ("TR-03", "train"),
}


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def as_json(result: Result) -> dict[str, Any]:
    assert result.stdout.strip(), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def keys(findings: list[dict[str, Any]]) -> set[Key]:
    return {(f["control"], f["subject"]) for f in findings}


@pytest.fixture(scope="module")
def clone(real_layout: Any) -> Callable[[str, str], Path]:
    """A clone per (branch, mode), made once per module; tests only read them."""
    made: dict[tuple[str, str], Path] = {}

    def get(branch: str, mode: str) -> Path:
        if (branch, mode) not in made:
            path = real_layout.clone(f"{mode}-{branch}", branch, pull=mode == "pulled")
            made[branch, mode] = path
        return made[branch, mode]

    return get


@pytest.fixture(scope="module")
def base_policy(real_layout: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``main``'s policy, in a file outside every clone (its key paths are repository paths)."""
    path = tmp_path_factory.mktemp("base-policy") / "pipeline.policy"
    path.write_text(real_layout.repo.joinpath(POLICY).read_text())
    return path


def check(repo: Path, *args: str | Path) -> tuple[int, dict[str, Any]]:
    result = mlpolicy("check", repo, "--format", "json", *args)
    return result.exit_code, as_json(result)


def diff(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = mlpolicy("diff", repo, "--base", "main", "--format", "json", *args)
    return result.exit_code, as_json(result)


# -- check: from the lock, from the bytes, from the cache ------------------------------


def test_the_generated_repository_keeps_outputs_out_of_git(real_layout: Any) -> None:
    tracked = real_layout.clone("listing")
    assert not (tracked / MODEL).exists()
    assert (tracked / "dvc.lock").is_file() and (tracked / "models" / ".gitignore").is_file()
    assert any(real_layout.remote.rglob("*")), "the remote holds the bytes"


def test_a_fresh_clone_without_dvc_pull_is_judged_compliant_from_the_lock(
    clone: Callable[[str, str], Path],
) -> None:
    repo = clone("main", "lock")
    status, report = check(repo)
    assert (status, report["findings"]) == (0, [])
    text = mlpolicy("check", repo)
    assert text.exit_code == 0
    assert "lock" in text.output and MODEL in text.output, "say what was judged from the lock"


def test_after_dvc_pull_the_same_verdict_from_the_bytes(
    clone: Callable[[str, str], Path],
) -> None:
    status, report = check(clone("main", "pulled"))
    assert (status, report["findings"]) == (0, [])


def cache_object(repo: Path, path: str) -> Path:
    """The DVC cache file of an output, by the md5 ``dvc.lock`` records for it."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    outs = [o for stage in lock["stages"].values() for o in stage.get("outs", [])]
    md5 = next(o["md5"] for o in outs if o["path"] == path)
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def test_one_byte_changed_in_a_cache_object_is_a_finding(real_layout: Any) -> None:
    repo = real_layout.clone("cache-byte")
    real_layout.dvc(repo, "fetch", "--quiet")  # the cache, not the work tree
    assert not (repo / MODEL).exists()
    assert check(repo)[0] == 0, "the bytes in the cache are the signed ones"
    cached = cache_object(repo, MODEL)
    cached.chmod(cached.stat().st_mode | stat.S_IWUSR)
    data = bytearray(cached.read_bytes())
    data[10] ^= 0x01
    cached.write_bytes(bytes(data))
    status, report = check(repo)
    assert status == 1
    assert MODEL in {f["subject"] for f in report["findings"]}


@pytest.mark.parametrize("branch", sorted(REGRESSIONS))
def test_the_lock_and_the_bytes_give_the_same_verdict(
    clone: Callable[[str, str], Path], base_policy: Path, branch: str
) -> None:
    verdicts = [check(clone(branch, mode), "--policy", base_policy) for mode in MODES]
    (lock_status, lock), (pulled_status, pulled) = verdicts
    assert lock_status == pulled_status == 1
    assert keys(lock["findings"]) == keys(pulled["findings"])
    assert REGRESSIONS[branch] in keys(pulled["findings"])


# -- diff --base main: like with like, judged by the base's policy ---------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("branch", sorted(REGRESSIONS))
def test_diff_reports_exactly_the_new_findings_and_nothing_fixed(
    clone: Callable[[str, str], Path], base_policy: Path, branch: str, mode: str
) -> None:
    repo = clone(branch, mode)
    _, judged = check(repo, "--policy", base_policy)
    status, report = diff(repo)
    assert status == 1
    assert report["base"]["evaluated"] is True
    assert report["summary"]["fixed"] == 0 and report["fixed"] == []
    assert report["unchanged"] == []  # the base is compliant
    assert keys(report["new"]) == keys(judged["findings"])
    assert REGRESSIONS[branch] in keys(report["new"])


@pytest.mark.parametrize("mode", MODES)
def test_a_readme_change_passes_with_nothing_new_and_nothing_fixed(
    clone: Callable[[str, str], Path], mode: str
) -> None:
    status, report = diff(clone("readme-only", mode))
    assert status == 0
    assert report["base"]["evaluated"] is True and report["policy_changed"] is False
    assert (report["summary"]["new"], report["summary"]["fixed"]) == (0, 0)


def test_a_weakened_policy_does_not_judge_its_own_change(
    clone: Callable[[str, str], Path],
) -> None:
    repo = clone("weaken-policy", "lock")
    status, report = diff(repo)
    assert (status, report["policy_changed"]) == (1, True)
    status, report = diff(repo, "--allow-policy-change")
    assert status == 1, "the base's policy still finds the missing sign-off"
    assert ("TR-03", "train") in keys(report["new"])
    status, report = diff(repo, "--policy-from", "head", "--allow-policy-change")
    assert (status, report["summary"]["new"]) == (0, 0)


# -- reading changes nothing ---------------------------------------------------------------


def listing(root: Path) -> dict[str, tuple[object, ...]]:
    """Every folder (mtime) and file (size, mtime, sha256) under ``root``, ``.git`` aside."""
    found: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        here = Path(folder)
        found[here.relative_to(root).as_posix() + "/"] = (here.stat().st_mtime_ns,)
        for name in files:
            path = here / name
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[path.relative_to(root).as_posix()] = (*_size_mtime(path), digest)
    return found


def _size_mtime(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return info.st_size, info.st_mtime_ns


@contextmanager
def read_only(root: Path) -> Iterator[None]:
    """Make everything under ``root`` but ``.git`` read-only for the duration."""
    modes: dict[Path, int] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for path in [Path(folder), *(Path(folder) / f for f in files)]:
            modes[path] = path.lstat().st_mode
            path.chmod(modes[path] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_check_and_diff_write_nothing_in_the_repository_or_its_cache(real_layout: Any) -> None:
    repo = real_layout.clone("read-only", "main", pull=True)  # the base's bytes in the cache
    real_layout.git(repo, "checkout", "-q", "edit-model")
    real_layout.dvc(repo, "pull", "--quiet")
    before = listing(repo)
    with read_only(repo):
        checked, diffed = mlpolicy("check", repo), mlpolicy("diff", repo, "--base", "main")
    assert (checked.exit_code, diffed.exit_code) == (1, 1), checked.output + diffed.output
    assert listing(repo) == before
    assert real_layout.git(repo, "status", "--porcelain") == ""
    assert len(real_layout.git(repo, "worktree", "list").splitlines()) == 1
