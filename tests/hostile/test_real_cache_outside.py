"""A real DVC repository (``fixtures/realrepo.py``: git, ``dvc repro``, outputs git-ignored)
whose ``.dvc/config`` names a cache outside it, filled by ``dvc fetch``: the engine opens
nothing there, reports the config line as ``builtin/path-escape`` and judges the outputs
from the lock (the child process's opened paths are recorded by ``audited.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audited import opened_under, run

pytestmark = pytest.mark.slow

MODEL = "models/model.json"


@pytest.fixture(scope="module")
def outside_cache(real_layout: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A clone (what CI checks out: no outputs) whose ``.dvc/config`` names a cache outside
    it, filled by ``dvc fetch``: (the clone, the cache)."""
    repo = real_layout.clone("cache-outside")
    cache = tmp_path_factory.mktemp("outside") / "cache"
    real_layout.dvc(repo, "cache", "dir", str(cache))
    real_layout.dvc(repo, "fetch", "--quiet")
    assert not (repo / MODEL).exists() and any(p.is_file() for p in cache.rglob("*"))
    return repo, cache


def check(repo: Path, log: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = run(["check", str(repo), "--format", "json"], log, cwd=log.parent, env=env)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_a_dvc_cache_outside_the_repository_is_never_opened(
    outside_cache: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, cache = outside_cache
    config = (repo / ".dvc" / "config").read_text().splitlines()
    line = next(n for n, text in enumerate(config, 1) if text.strip().startswith("dir ="))
    status, report = check(repo, tmp_path / "opened.txt")
    assert status == 1
    escapes = [f for f in report["findings"] if f["control"] == "builtin/path-escape"]
    assert [f["subject"] for f in escapes] == [f".dvc/config:{line}"]
    assert "it was not read" in escapes[0]["message"]
    assert [f for f in report["findings"] if f not in escapes] == []
    assert MODEL in {entry["path"] for entry in report["judged_from_lock"]}
    assert opened_under(tmp_path / "opened.txt", cache.parent) == []
    assert opened_under(tmp_path / "opened.txt", repo), "the recorder saw the repository read"


def test_the_same_cache_named_by_the_users_dvc_config_is_read(
    outside_cache: tuple[Path, Path], tmp_path: Path
) -> None:
    """The control: a shared cache the user allows is read, and the recorder sees it."""
    repo, cache = outside_cache
    (tmp_path / "global").mkdir()
    (tmp_path / "global" / "config").write_text(f"[cache]\n    dir = {cache}\n")
    env = {"DVC_GLOBAL_CONFIG_DIR": str(tmp_path / "global")}
    status, report = check(repo, tmp_path / "opened.txt", env)
    assert (status, report["findings"]) == (0, [])
    assert MODEL not in {entry["path"] for entry in report["judged_from_lock"]}
    assert opened_under(tmp_path / "opened.txt", cache)
