"""The walk for DVC files finds what DVC's ``DvcIgnoreFilter.walk`` finds, on generated trees."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc.files import _walk
from policy_engine.graph.builders.dvc.repo import open_read_only

FILES = ["dvc.yaml", "x.dvc", "dvc.yml", "data.csv", ".dvcignore", "a.dvc", "Dvcfile"]
FOLDERS = st.lists(st.sampled_from(["a", "b", "skip", "sub", "deep"]), max_size=3).map("/".join)
PATTERNS = st.sampled_from(
    ["*.dvc", "!a.dvc", "skip/", "dvc.yaml", "/b", "**/deep", "!deep/", "*", "!*.dvc", "sub/x.dvc"]
)


def reference(repo: Any, outs: set[str]) -> Iterator[str]:
    """The walk as written on DVC's own ``dvcignore.walk`` (every file filtered)."""
    from dvc.dvcfile import is_valid_filename

    fs, scm, sep = repo.fs, repo.scm, repo.fs.sep
    for root, dirs, files in repo.dvcignore.walk(fs, repo.root_dir, followlinks=False):
        for name in files:
            if is_valid_filename(name) and not scm.is_ignored(f"{root}{sep}{name}"):
                yield fs.join(root, name)
        dirs[:] = [
            name
            for name in dirs
            if f"{root}{sep}{name}" not in outs and not scm.is_ignored(f"{root}{sep}{name}{sep}")
        ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    patterns=st.lists(PATTERNS, max_size=4),
    placed=st.lists(st.tuples(FOLDERS, st.sampled_from(FILES)), max_size=10),
    subrepo=st.booleans(),
)
def test_same_files_as_dvcs_walk(
    patterns: list[str], placed: list[tuple[str, str]], subrepo: bool
) -> None:
    from dvc.repo import Repo

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        Repo.init(os.fspath(root), no_scm=True).close()
        (root / ".dvcignore").write_text("\n".join(patterns) + "\n")
        for where, name in placed:
            (root / where).mkdir(parents=True, exist_ok=True)
            (root / where / name).write_text("# x\n")
        if subrepo:
            (root / "sub" / ".dvc").mkdir(parents=True, exist_ok=True)
            (root / "sub" / "dvc.yaml").write_text("stages: {}\n")
        outs = {os.path.join(os.path.realpath(root), "b")}
        with open_read_only(root) as repo:
            assert list(_walk(repo, outs)) == list(reference(repo, outs))
