"""The walk for DVC files finds what DVC's ``DvcIgnoreFilter.walk`` finds, on generated trees;
the walk under it is DVC's local walk, and the listings it keeps are those ``scandir`` gives."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc.files import _walk
from policy_engine.graph.builders.dvc.repo import open_read_only
from policy_engine.graph.builders.dvc.walk import Listings, project_walk, walk
from policy_engine.graph.paths import _listing

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


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folders, files, symlinks to both in and out of the tree, a loop, a dangling link,
    a folder that cannot be listed (when the file modes are enforced)."""
    base = tmp_path_factory.mktemp("walk")
    top = base / "top"
    for folder in ("a/b/c", "a/skip/d", "e", ".hidden/f"):
        (top / folder).mkdir(parents=True)
    for file in ("x.csv", "a/dvc.yaml", "a/b/c/y.bin", "a/skip/d/z", ".hidden/f/w"):
        (top / file).write_text("x")
    (base / "outside").mkdir()
    (base / "outside" / "o").write_text("o")
    os.symlink(base / "outside", top / "out")
    os.symlink("a", top / "a-link")
    os.symlink("x.csv", top / "e" / "file-link")
    os.symlink("loop", top / "loop")
    os.symlink("nowhere", top / "dangling")
    (top / "unread" / "in").mkdir(parents=True)
    (top / "unread").chmod(0o311)
    return top


def pruned(walked: Iterator[tuple[str, list[str], list[str]]]) -> list[Any]:
    """The walk as ``_walk`` uses it: ``skip`` folders not entered, the lists copied."""
    seen = []
    for root, dirs, files in walked:
        seen.append((root, list(dirs), list(files)))
        dirs[:] = [name for name in dirs if name != "skip"]
    return seen


@pytest.mark.parametrize("through", ["top", "a-link"])
def test_the_walk_is_dvcs_and_keeps_scandirs_listings(tree: Path, through: str) -> None:
    from dvc_objects.fs.local import LocalFileSystem

    fs = LocalFileSystem()
    start = os.fspath(tree if through == "top" else tree / "a-link")
    listings: Listings = {}
    walked = pruned(project_walk(fs, start, listings))
    assert walked == pruned(fs.walk(start, followlinks=False))
    folders = [folder for folder, _, _ in walked]
    assert any(folder.endswith("/b/c") for folder in folders)  # entered through the link too
    assert not any("skip" in folder or "outside" in folder for folder in folders)
    if through == "a-link":  # not its own real path: the listings are not kept
        assert listings == {}
        return
    assert set(listings) == {folder for folder, _, _ in walked}
    for folder, names in listings.items():
        assert names == _listing(folder)
    assert listings[os.fspath(tree)]["a-link"] is True


def test_a_file_system_of_another_walk_is_walked_by_it() -> None:
    class Other:
        def walk(self, top: str, followlinks: bool) -> Iterator[tuple[str, list[str], list[str]]]:
            yield top, [], ["dvc.yaml"]

    listings: Listings = {}
    assert list(project_walk(Other(), "/p", listings)) == [("/p", [], ["dvc.yaml"])]
    assert listings == {}


def test_paths_confined_from_the_walks_listings_are_realpaths(tree: Path) -> None:
    from policy_engine.graph.paths import Normaliser, PathEscape, normalise

    listings: Listings = {}
    for _ in walk(os.fspath(tree), listings):
        pass
    normaliser = Normaliser(tree)
    for folder, names in listings.items():
        normaliser.listed(folder, names)
    raws = ["x.csv", "a/b/c/y.bin", "out/o", "a-link/dvc.yaml", "e/file-link", "loop/x"]
    raws += ["dangling/x", "unread/in/z", "a/b/../skip/d/z", "a/b/c/none", ".hidden/f/w"]
    for raw in raws:
        try:
            expected = normalise(tree, raw)
        except PathEscape as exc:
            expected = f"escape: {exc}"
        got = normaliser.answer(raw)
        assert (got if isinstance(got, str) else f"escape: {got}") == expected, raw


def test_an_entry_that_cannot_say_whether_it_is_a_symlink_leaves_its_folder_unkept(
    tree: Path,
) -> None:
    from policy_engine.graph.builders.dvc import walk as module

    class Unsure:
        name = "e"

        def is_symlink(self) -> bool:
            raise OSError("cannot tell")

    assert module._note({}, Unsure()) is None  # type: ignore[arg-type]
    assert module._note(None, Unsure()) is None  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "_note", lambda links, entry: None)
        listings: Listings = {}
        walked = pruned(walk(os.fspath(tree), listings))
    assert walked == pruned(os.walk(tree))
    assert listings and all(names == {} for names in listings.values())  # only empty folders


def test_a_top_that_cannot_be_listed_is_not_walked(tree: Path) -> None:
    listings: Listings = {}
    assert list(walk(os.fspath(tree / "x.csv"), listings)) == []
    assert list(os.walk(tree / "x.csv")) == []
