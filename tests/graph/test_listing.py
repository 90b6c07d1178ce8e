"""One listing per folder: a listed entry is the path, an unlisted name is absent only provably."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policy_engine.graph.builders import listing
from policy_engine.graph.builders.listing import Listings

NAMES = ["a.bin", "A.BIN.sig", "model.sig", "Straße.sig", "é.sig", "e\u0301.sig", "0.bin", "-"]
QUERIES = [
    *NAMES,
    "a.bin.sig",
    "A.bin",
    "MODEL.SIG",
    "strasse.sig",
    "STRASSE.SIG",
    "é.sig".upper(),
    "missing",
    "0.BIN",
    ".",
    "..",
    "",
    "sub/a.bin",
    "sub/",
    "a.bin\0",
]


def _folder(tmp_path: Path) -> str:
    folder = tmp_path / "f"
    folder.mkdir()
    for name in NAMES:
        try:
            (folder / name).write_text(name)
        except OSError:
            continue  # a file system that refuses or merges some of these names
    (folder / "sub").mkdir()
    os.symlink(folder / "sub", folder / "linked")
    os.symlink(folder / "nowhere", folder / "dangling")
    return str(folder)


def test_absent_is_said_only_of_names_the_file_system_does_not_find(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    listings = Listings()
    for name in [*QUERIES, "sub", "linked", "dangling"]:
        if listings.absent(folder, name):
            assert not os.path.lexists(os.path.join(folder, name)), name
    assert listings.absent(folder, "missing")  # this file system tells case apart
    assert listings.absent(folder, "MODEL.SIG") == (not os.path.lexists(f"{folder}/MODEL.SIG"))


def test_a_folder_that_folds_case_answers_maybe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setattr(listing.os.path, "lexists", lambda path: True)  # every twin is found
    listings = Listings()
    assert not any(listings.absent(folder, name) for name in QUERIES)


def test_non_ascii_names_and_unlistable_folders_answer_maybe(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    listings = Listings()
    assert not listings.absent(folder, "ü.sig")  # normalisation may fold it
    assert not listings.absent(f"{folder}/a.bin", "x")  # not a folder: cannot be listed
    assert not listings.absent(str(tmp_path / "none"), "x")
    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "0").write_text("")
    assert not listings.absent(str(tmp_path / "digits"), "x")  # no name to try its case on


def test_a_folder_is_listed_once_and_its_entries_are_the_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    listed: list[str] = []
    real = os.scandir

    def scandir(path: str) -> object:
        listed.append(path)
        return real(path)

    monkeypatch.setattr(listing.os, "scandir", scandir)
    listings = Listings()
    for name in QUERIES:
        entry = listings.entry(folder, name)
        assert entry is None or os.path.samestat(
            entry.stat(follow_symlinks=False), os.lstat(os.path.join(folder, name))
        )
        listings.absent(folder, name)
        assert listings.may_be_dir(folder, name) or not os.path.isdir(f"{folder}/{name}")
    assert listed == [folder]
    assert listings.may_be_dir(folder, "linked") and not listings.may_be_dir(folder, "dangling")


@pytest.mark.parametrize("folds_case", [False, True])
def test_names_in_bulk_are_answered_as_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folds_case: bool
) -> None:
    folder = _folder(tmp_path)
    if folds_case:
        monkeypatch.setattr(listing.os.path, "lexists", lambda path: True)
    names = [*QUERIES, "sub", "linked", "dangling", "ü.sig"]
    for where in (folder, f"{folder}/a.bin", str(tmp_path / "none")):
        bulk, single = Listings(), Listings()
        assert bulk.unproven(where, names) == [n for n in names if not single.absent(where, n)]
        assert bulk.may_be_dirs(where, names) == [n for n in names if single.may_be_dir(where, n)]
    only_listed = ["a.bin", "sub"]  # all listed: no name needs the case test
    assert Listings().unproven(folder, only_listed) == only_listed


UNLISTED = ["a.bin.sig", "0.bin.sig", "missing", "MODEL.SIG.sig"]


@pytest.mark.parametrize("folds_case", [False, True])
@pytest.mark.parametrize(
    "odd", [None, "", ".", "..", "sub/x", "x\0", "ü.sig", "a.bin", "-", "/", "x/"]
)
def test_unlisted_names_in_bulk_are_answered_as_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folds_case: bool, odd: str | None
) -> None:
    folder = _folder(tmp_path)
    if folds_case:
        monkeypatch.setattr(listing.os.path, "lexists", lambda path: True)
    names = UNLISTED if odd is None else [*UNLISTED[:2], odd, *UNLISTED[2:]]
    bulk, single = Listings(), Listings()
    assert bulk.unproven(folder, names) == [n for n in names if not single.absent(folder, n)]
    assert bulk.unproven(folder, []) == []


def test_a_symlink_loop_is_left_to_the_file_system_in_bulk(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    os.symlink("loop", os.path.join(folder, "loop"))  # its type cannot be looked at
    names = ["a.bin", "loop", "sub", "linked", "missing"]
    bulk, single = Listings(), Listings()
    assert bulk.may_be_dirs(folder, names) == [n for n in names if single.may_be_dir(folder, n)]
    assert "loop" in bulk.may_be_dirs(folder, names)


def test_the_sorted_artifact_paths_are_kept_until_the_graph_gains_a_node(tmp_path: Path) -> None:
    from policy_engine.graph.builders import BuildContext
    from policy_engine.graph.model import ProvenanceGraph, SourceRef, Step
    from policy_engine.keys import Keyring

    graph = ProvenanceGraph(str(tmp_path))
    context = BuildContext(tmp_path, Keyring({}))
    for path in ["b/x", "a", "b/a", "a.b"]:
        graph.add_artifact(path)
    first = listing.artifact_paths(graph, context)
    assert first == ["a", "a.b", "b/a", "b/x"] and listing.artifact_paths(graph, context) is first
    graph.add_artifact("b/a")  # already there: nothing added
    assert listing.artifact_paths(graph, context) is first
    graph.add_step(Step("train", SourceRef("dvc.yaml")))  # a node, not an artifact
    assert listing.artifact_paths(graph, context) == first
    graph.add_artifact("0")
    assert listing.artifact_paths(graph, context) == ["0", *first]


@pytest.mark.parametrize(
    ("paths", "runs"),
    [
        ([], []),
        (["."], []),
        (["a", "b"], [("", ["a", "b"])]),
        (["a/b.txt", "a/b/c", "a/c", "."], [("a", ["b.txt"]), ("a/b", ["c"]), ("a", ["c"])]),
        (["x/1", "x/2", "y/1"], [("x", ["1", "2"]), ("y", ["1"])]),
    ],
)
def test_paths_come_by_folder_in_runs(paths: list[str], runs: list[tuple[str, list[str]]]) -> None:
    assert list(listing.by_folder(paths)) == runs
