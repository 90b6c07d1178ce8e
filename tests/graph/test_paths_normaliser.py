"""``paths.Normaliser`` gives exactly what ``paths.normalise`` (``os.path.realpath``) gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.graph.paths import Normaliser, PathEscape, normalise

NAMES = ["a", "b", "in", "out", "up", "loop", "self", "dangling", "file", "unread", "gone", "A"]
PARTS = st.sampled_from([*NAMES, "..", ".", "", "x.csv", "C:", "\\", "\0"])
BASES = st.sampled_from(["", "a", "a/b", "out", "gone/deeper", "file", "unread", "../a", "\0"])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with symlinks in and out of it, loops, files as folders, a folder unlisted."""
    base = tmp_path_factory.mktemp("normaliser")
    repo = base / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    (base / "outside").mkdir()
    (repo / "file").write_text("x")
    os.symlink(base / "outside", repo / "out")
    os.symlink("..", repo / "a" / "up")  # stays inside
    os.symlink("b", repo / "a" / "in")
    os.symlink(base / "outside", repo / "a" / "b" / "x.csv")
    os.symlink("loop", repo / "loop")  # a link to itself
    os.symlink("a/self", repo / "a" / "self")
    os.symlink("nowhere", repo / "dangling")
    os.symlink("../../..", repo / "a" / "b" / "gone")  # ends above the root
    unread = repo / "unread"
    (unread / "in").mkdir(parents=True)
    os.symlink(base / "outside", unread / "out")
    unread.chmod(0o311)  # entries reachable, but the folder cannot be listed
    return repo


def reference(root: Path, raw: str, base: str = "") -> str:
    try:
        return normalise(root, raw, base)
    except PathEscape as exc:
        return f"escape: {exc}"


def ours(normaliser: Normaliser, raw: str, base: str = "") -> str:
    try:
        return normaliser(raw, base)
    except PathEscape as exc:
        return f"escape: {exc}"


@settings(max_examples=500, deadline=None)
@given(
    paths=st.lists(st.tuples(st.lists(PARTS, min_size=1, max_size=6), BASES), max_size=6),
    absolute=st.booleans(),
)
def test_same_answer_as_realpath(
    root: Path, paths: list[tuple[list[str], str]], absolute: bool
) -> None:
    normaliser = Normaliser(root)  # one normaliser for several paths: its folders are shared
    for parts, base in paths:
        raw = ("/" if absolute else "") + "/".join(parts)
        assert ours(normaliser, raw, base) == reference(root, raw, base)
        assert ours(normaliser, raw, base) == reference(root, raw, base)  # remembered


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("a/b/c.csv", "", "a/b/c.csv"),
        ("c.csv", "a/b", "a/b/c.csv"),
        ("a/up/a/b", "", "a/up/a/b"),
        ("out/file", "", "escape: path `out/file` is a symlink leaving the repository"),
        ("file", "out", "escape: path `file` is a symlink leaving the repository"),
        ("x.csv", "a/b", "escape: path `x.csv` is a symlink leaving the repository"),
        ("gone/x", "a/b", "escape: path `gone/x` is a symlink leaving the repository"),
        ("out", "unread", "escape: path `out` is a symlink leaving the repository"),
        ("in/x", "unread", "unread/in/x"),
        ("loop/x", "", "loop/x"),
        ("missing/deeper/x", "", "missing/deeper/x"),
        ("file/x", "", "file/x"),
        ("../x", "a", "x"),
        ("../../x", "a", "escape: path `../../x` leaves the repository"),
        ("/etc/passwd", "", "escape: absolute path `/etc/passwd`"),
    ],
)
def test_known_cases(root: Path, raw: str, base: str, expected: str) -> None:
    assert ours(Normaliser(root), raw, base) == expected
    assert reference(root, raw, base) == expected


def test_a_path_under_a_missing_folder_asks_nothing(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    normaliser = Normaliser(root)
    assert normaliser("missing/x") == "missing/x"
    assert normaliser("a/b/c.csv") == "a/b/c.csv"
    calls: list[str] = []
    monkeypatch.setattr(os, "lstat", calls.append)
    monkeypatch.setattr(os, "scandir", calls.append)
    assert normaliser("missing/deeper/y") == "missing/deeper/y"
    assert normaliser("b", "a") == "a/b"  # listed with its folder already
    assert calls == []


def test_folders_that_cannot_be_listed(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every folder refuses its listing: each name is then asked of the file system."""

    def refused(path: str) -> None:
        raise PermissionError(path)

    monkeypatch.setattr(os, "scandir", refused)
    normaliser = Normaliser(root)
    for raw in ("a/b/c.csv", "a/b/x.csv", "out/f", "unread/out", "a/up/a/in/q", "loop/x"):
        assert ours(normaliser, raw) == reference(root, raw)


@pytest.mark.parametrize("raw", ["/x", "//x", "///x", "/", "x/", "./x", "x//y", "\\x", "C:x"])
def test_absolute_paths_are_those_pathlib_calls_absolute(root: Path, raw: str) -> None:
    from pathlib import PurePosixPath, PureWindowsPath

    text = raw.replace("\\", "/")
    absolute = PurePosixPath(text).is_absolute() or bool(PureWindowsPath(raw).drive)
    assert ours(Normaliser(root), raw).startswith("escape: absolute") == absolute


@pytest.mark.parametrize(
    "raw",
    [
        "a/" * 2000 + "x",  # deep, under the length limit: no recursion per folder
        "a/" * 2100 + "x",  # over it: no file can have it
        "a/b/x\0y",
        "a/b/x\\y",
        "a/b/C:x",
        "a/b/.",
        "a/b/..",
        "a/b/",
        "a/./b/../b/c.csv",
        "out/../a/x",
        "./x",
        "a/up/../../x",
    ],
)
@pytest.mark.parametrize("base", ["", "a", "a/b", "out"])
def test_a_name_joined_to_its_folder_is_the_whole_path_normalised(
    root: Path, raw: str, base: str
) -> None:
    normaliser = Normaliser(root)
    folder = raw.rpartition("/")[0]
    assert ours(normaliser, folder, base) == reference(root, folder, base)  # the folder first
    assert ours(normaliser, raw, base) == reference(root, raw, base)
    assert ours(Normaliser(root), raw, base) == reference(root, raw, base)  # and alone


FOLDERS = ["a/b", "a/in", "a/up/a/b", "out", "unread", "unread/in", "gone", "a/b/gone", "file"]
LEAVES = ["c.csv", "x.csv", "gone", "in", "out", "file", "b", "later", "c.csv"]


@pytest.mark.parametrize("folder", FOLDERS)
@pytest.mark.parametrize("base", ["", "a", "unread"])
def test_names_in_a_folder_seen_before(root: Path, folder: str, base: str) -> None:
    """After a folder's first name, its other names take the folder's remembered listing:
    symlinks, missing names, a name made after the listing and repeats keep realpath's answer."""
    normaliser = Normaliser(root)
    for leaf in LEAVES:
        raw = f"{folder}/{leaf}"
        assert ours(normaliser, raw, base) == reference(root, raw, base)
    made = root / "a" / "b" / "made-late"
    made.symlink_to(root.parent / "outside")  # not in the listing remembered
    try:
        for raw in ("a/b/made-late", "made-late"):
            assert ours(normaliser, raw, base) == reference(root, raw, base)
    finally:
        made.unlink()


@pytest.mark.parametrize("raw", ["usr/bin/env", "usr/bin/nothing-here", "etc/hostname", "tmp/x"])
def test_the_file_system_root_as_repository(raw: str) -> None:
    normaliser = Normaliser(Path("/"))
    for _ in range(2):
        assert ours(normaliser, raw) == reference(Path("/"), raw)
