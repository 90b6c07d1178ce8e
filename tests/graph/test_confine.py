"""The attestation path normaliser gives exactly what ``paths.normalise`` gives, faster."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.attestations import confine
from policy_engine.graph.builders.attestations.confine import Normaliser, _normpath, symlinks_in
from policy_engine.graph.paths import PathEscape, normalise

PARTS = st.sampled_from(["a", "b", "in", "out", "up", "..", ".", "", "x.csv", "C:", "\\"])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with symlinks inside it and out of it, at several depths."""
    base = tmp_path_factory.mktemp("confine")
    repo = base / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    (base / "outside").mkdir()
    os.symlink(base / "outside", repo / "out")
    os.symlink("..", repo / "a" / "up")  # stays inside
    os.symlink("b", repo / "a" / "in")
    os.symlink(base / "outside", repo / "a" / "b" / "x.csv")
    return repo


def reference(root: Path, raw: str) -> str:
    try:
        return normalise(root, raw)
    except PathEscape as exc:
        return f"escape: {exc}"


def ours(normaliser: Normaliser, raw: str) -> str:
    try:
        return normaliser(raw)
    except PathEscape as exc:
        return f"escape: {exc}"


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(PARTS, min_size=1, max_size=6), absolute=st.booleans())
def test_same_result_as_the_reference(root: Path, parts: list[str], absolute: bool) -> None:
    raw = ("/" if absolute else "") + "/".join(parts)
    normaliser = Normaliser(root)
    assert ours(normaliser, raw) == reference(root, raw)
    assert ours(normaliser, raw) == reference(root, raw)  # remembered, same answer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a/b/c.csv", "a/b/c.csv"),
        ("a/up/a/b", "a/up/a/b"),
        ("out/file", "escape: path `out/file` is a symlink leaving the repository"),
        ("a/b/x.csv", "escape: path `a/b/x.csv` is a symlink leaving the repository"),
        ("../x", "escape: path `../x` leaves the repository"),
        ("/etc/passwd", "escape: absolute path `/etc/passwd`"),
    ],
)
def test_known_cases(root: Path, raw: str, expected: str) -> None:
    assert ours(Normaliser(root), raw) == expected


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(PARTS, min_size=1, max_size=6))
def test_folders_that_cannot_be_listed_ask_per_name(root: Path, parts: list[str]) -> None:
    """A folder ``scandir`` refuses (unreadable, but searchable) falls back to ``lstat``."""
    raw = "/".join(parts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(confine, "symlinks_in", lambda folder: None)
        assert ours(Normaliser(root), raw) == reference(root, raw)


def test_symlinks_in(root: Path) -> None:
    assert symlinks_in(str(root)) == frozenset({"out"})
    assert symlinks_in(str(root / "a")) == frozenset({"up", "in"})
    assert symlinks_in(str(root / "missing")) == frozenset()
    assert symlinks_in(str(root / "a" / "b" / "x.csv")) == frozenset()  # not a folder


def test_unreadable_folder_is_not_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(folder: str) -> None:
        raise PermissionError(13, "Permission denied", folder)

    monkeypatch.setattr(os, "scandir", refuse)
    assert symlinks_in(str(tmp_path)) is None


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(PARTS | st.text(alphabet="./ab", max_size=4), max_size=6))
def test_normpath_shortcut_is_posix_normpath(parts: list[str]) -> None:
    text = "/".join(parts).lstrip("/")  # relative, as the normaliser asks
    assert _normpath(text) == posixpath.normpath(text)
