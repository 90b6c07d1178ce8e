"""Signatures beside artifacts: found as ``os.path.isfile`` finds them, folders listed once."""

from __future__ import annotations

import os
from pathlib import Path

from policy_engine.graph.builders.listing import Listings
from policy_engine.graph.builders.modelsig.find import find_signatures


def _tree(root: Path) -> None:
    (root / "models" / "folder").mkdir(parents=True)
    (root / "models" / "folder" / "model.sig").write_text("{}")
    (root / "models" / "file.bin").write_text("x")
    (root / "models" / "file.bin.sig").write_text("{}")
    (root / "models" / "plain.bin").write_text("x")
    (root / "models" / "fake").write_text("a file, not a folder")
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "model.sig").write_text("{}")
    os.symlink(root / "elsewhere", root / "models" / "linked")
    os.symlink(root / "nowhere", root / "models" / "dangling")


def test_each_kind_of_path_is_answered_as_the_file_system_does(tmp_path: Path) -> None:
    _tree(tmp_path)
    listings = Listings()
    for path in [
        "models/folder",
        "models/file.bin",
        "models/fake",
        "models/linked",
        "models/dangling",
        "models/missing",
        "missing/deeper/x",
        "models/file.bin/under",
    ]:
        is_dir = os.path.isdir(tmp_path / path)
        assert may_be_dir(listings, tmp_path, path) or not is_dir, path  # never misses a folder
    assert not may_be_dir(listings, tmp_path, "models/file.bin")
    assert may_be_dir(listings, tmp_path, "models/linked")
    assert may_be_dir(listings, tmp_path, "models/missing")  # not listed: the file system decides


def may_be_dir(listings: Listings, root: Path, path: str) -> bool:
    folder, _, name = path.rpartition("/")
    return listings.may_be_dir(os.path.join(root, folder), name)


def test_signatures_beside_files_and_inside_folders_and_linked_folders(tmp_path: Path) -> None:
    _tree(tmp_path)
    artifacts = [
        "models/folder",
        "models/file.bin",
        "models/plain.bin",
        "models/fake",
        "models/linked",
        "models/dangling",
        "models/missing",
    ]
    found = find_signatures(tmp_path, artifacts, [], [])
    assert [(f.signature, f.model) for f in found] == [
        ("models/file.bin.sig", "models/file.bin"),
        ("models/folder/model.sig", "models/folder"),
        ("models/linked/model.sig", "models/linked"),
    ]


def _one_by_one(root: Path, artifacts: list[str]) -> list[tuple[str, str]]:
    """What ``os.path`` alone says, artifact by artifact (a signature first found wins)."""
    pairs: dict[str, str] = {}
    for path in artifacts:
        if os.path.isdir(root / path) and os.path.isfile(root / path / "model.sig"):
            pairs.setdefault(f"{path}/model.sig", path)
        if os.path.isfile(root / f"{path}.sig"):
            pairs.setdefault(f"{path}.sig", path)
    return sorted(pairs.items())


def test_a_generated_tree_is_answered_as_os_path_answers_it(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "models" / "folder" / "model").mkdir()  # folder/model.sig signs two models
    (tmp_path / "models" / "folder" / "model" / "w.bin").write_text("x")
    (tmp_path / "models" / "FILE.BIN.sig").write_text("{}")  # another case: not a signature
    (tmp_path / "models" / "ü.bin.sig").write_text("{}")
    for i in range(30):
        (tmp_path / "many" / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "many" / f"d{i % 3}" / f"{i}.bin").write_text("x")
        if i % 4 == 0:
            (tmp_path / "many" / f"d{i % 3}" / f"{i}.bin.sig").write_text("{}")
    artifacts = sorted(
        [
            *(f"many/d{i % 3}/{i}.bin" for i in range(30)),
            *("models/folder", "models/folder/model", "models/file.bin", "models/FILE.BIN"),
            *("models/ü.bin", "models/linked", "models/dangling", "models/fake", "top", "."),
        ]
    )
    found = find_signatures(tmp_path, artifacts, (), [], Listings())
    expected = _one_by_one(tmp_path, [a for a in artifacts if a != "."])
    assert [(f.signature, f.model) for f in found] == expected
    assert ("models/folder/model.sig", "models/folder") in expected  # the first artifact wins
