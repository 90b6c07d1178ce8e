"""``OutputIgnores`` answers as DVC's ``is_ignored`` on generated ``.dvcignore`` files and trees.

Patterns are drawn from what gitignore syntax offers (globs, ``**``, anchored
``/`` patterns, folder-only ``name/``, negations ``!``, escapes), in the
repository's ``.dvcignore`` and in a subfolder's; paths are files, folders and
paths with nothing on disk, at several depths.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc.ignores import OutputIgnores
from policy_engine.graph.builders.dvc.repo import open_read_only

NAMES = ["a", "b", "x.tmp", "keep.tmp", "log", ".git", ".hg", "data.csv", "deep"]
PATTERNS = st.sampled_from(
    [
        "*.tmp", "!keep.tmp", "a/", "/a", "b", "!b", "log/", "!log/", "**/deep", "a/**",
        "a/*.csv", "!a/data.csv", "/b/", "*", "!*.csv", "\\!b", "deep/x.tmp", ".git", "#c",
    ]
)  # fmt: skip
PATHS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map("/".join)


def build(root: Path, top: list[str], sub: list[str], files: list[str], dirs: list[str]) -> None:
    from dvc.repo import Repo

    Repo.init(os.fspath(root), no_scm=True).close()
    (root / ".dvcignore").write_text("\n".join(top) + "\n")
    for folder in dirs:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in files:
        if not (root / name).exists():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            if not (root / name).parent.is_file():
                (root / name).write_text("")
    (root / "a").mkdir(exist_ok=True)
    if not (root / "a").is_file():
        (root / "a" / ".dvcignore").write_text("\n".join(sub) + "\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    top=st.lists(PATTERNS, max_size=5),
    sub=st.lists(PATTERNS, max_size=3),
    files=st.lists(PATHS, max_size=6),
    dirs=st.lists(PATHS, max_size=4),
    asked=st.lists(PATHS, min_size=1, max_size=12),
)
def test_same_answer_as_dvc(
    top: list[str],
    sub: list[str],
    files: list[str],
    dirs: list[str],
    asked: list[str],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        try:
            build(root, top, sub, files, dirs)
        except OSError:
            return  # a file where the tree needs a folder: no such tree
        with open_read_only(root) as repo:
            ignores = OutputIgnores(repo)
            for name in [*asked, *files, *dirs, ".", "a/.dvcignore", "../out"] * 2:
                path = os.path.join(repo.root_dir, name)
                expected = repo.dvcignore.is_ignored(repo.fs, path, ignore_subrepos=False)
                assert ignores(path) == expected, (name, top, sub)
