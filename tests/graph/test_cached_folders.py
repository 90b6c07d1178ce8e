"""Folder artifacts known at once from the hash cache give what the walk and hashing give."""

from __future__ import annotations

import os
import sqlite3
import struct
from pathlib import Path

import pytest

from policy_engine.graph.builders import BuildContext, workspace
from policy_engine.graph.builders.hashcache import FILE_NAME, FileDigests, FileKey, HashCache
from policy_engine.graph.builders.workspace import CachedFolders, build_workspace
from policy_engine.graph.model import DigestClaim, ProvenanceGraph, SourceRef, WorkspaceFile
from policy_engine.keys import Keyring

NAMES = ["a.bin", "b b.bin", "c.csv", "\u00e9t\u00e9.txt", "z.bin"]  # a space, non-ASCII


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (root / "data" / name).write_bytes(bytes([i]) * (100 + i))
    return root


class Watch:
    """The files read (hashed) and the folders known at once, during one build."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read: list[str] = []
        self.known: list[str] = []
        hash_keyed, digests = workspace.hash_file_keyed, CachedFolders.digests
        files = CachedFolders.files

        def reading(path: str, md5: bool = True) -> tuple[FileDigests, FileKey | None]:
            self.read.append(os.path.basename(path))
            return hash_keyed(path, md5)

        def knowing(self_: CachedFolders, *args: object) -> WorkspaceFile | None:
            found = digests(self_, *args)  # type: ignore[arg-type]
            if found is not None:
                self.known.append(str(args[1]))
            return found

        def knowing_files(self_: CachedFolders, *args: object) -> dict[str, WorkspaceFile]:
            found = files(self_, *args)  # type: ignore[arg-type]
            self.known.extend(found)
            return found

        monkeypatch.setattr(workspace, "hash_file_keyed", reading)
        monkeypatch.setattr(CachedFolders, "digests", knowing)
        monkeypatch.setattr(CachedFolders, "files", knowing_files)


def build(root: Path, md5_claimed: bool = False, cache: bool = True) -> WorkspaceFile:
    graph = ProvenanceGraph(str(root))
    graph.add_artifact("data")
    if md5_claimed:
        graph.add_claim("data", DigestClaim("md5", "0" * 32 + ".dir", SourceRef("dvc.lock")))
    build_workspace(graph, BuildContext(root, Keyring({}), hash_cache=cache))
    found = graph.workspace("data")
    assert found is not None
    return found


def facts(file: WorkspaceFile) -> tuple[str, str, int]:
    return file.sha256, file.md5, file.size


@pytest.mark.parametrize("claimed_first", [False, True])
@pytest.mark.parametrize("claimed", [False, True])
def test_a_folder_known_at_once_has_the_digests_of_its_files_read(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, claimed_first: bool, claimed: bool
) -> None:
    truth = facts(build(repo, cache=False))
    build(repo, claimed_first)  # cold: every file read, with its md5 when claimed
    watch = Watch(monkeypatch)
    warm = build(repo, claimed)
    # a row without md5s serves an unclaimed folder; a claimed one needs them read once more
    again = claimed and not claimed_first
    assert watch.known == ([] if again else ["data"])
    assert sorted(watch.read) == (sorted(NAMES) if again else [])
    assert facts(warm) == truth  # the md5 (DVC's .dir digest) computed when asked, if pending
    watch.known.clear()
    assert facts(build(repo, claimed)) == truth and watch.known == ["data"]


def edit_row(cache_dir: Path, index: int, field: int) -> None:
    """Change one number of the ``index``-th file's cached key, and its cached sha256 (a row
    trusted wrongly would show in the digest)."""
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        folder, keys, sha256 = db.execute("SELECT folder, keys, sha256 FROM folders_v2").fetchone()
        count = len(keys) // 40
        numbers = list(struct.unpack("<" + "qqQQq" * count, keys))
        numbers[5 * index + field] += 1
        packed = struct.pack("<" + "qqQQq" * count, *numbers)
        sha256 = sha256[: 64 * index] + "0" * 64 + sha256[64 * index + 64 :]
        db.execute(
            "UPDATE folders_v2 SET keys = ?, sha256 = ? WHERE folder = ?", (packed, sha256, folder)
        )
    db.close()


@pytest.mark.parametrize("index", [0, 4])
@pytest.mark.parametrize("field", range(len(FileKey._fields)))
def test_a_change_of_any_key_field_of_any_file_is_a_miss(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, index: int, field: int
) -> None:
    truth = facts(build(repo, cache=False))
    build(repo)
    edit_row(cache_dir, index, field)
    watch = Watch(monkeypatch)
    warm = build(repo)
    assert watch.known == [] and watch.read == [sorted(NAMES)[index]]  # the row's order
    assert facts(warm) == truth


@pytest.mark.parametrize("change", ["add", "remove", "rename", "edit", "subfolder", "link"])
def test_a_folder_whose_files_changed_is_walked(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    build(repo)
    data = repo / "data"
    if change == "add":
        (data / "new.bin").write_bytes(b"new")
    elif change == "remove":
        (data / "c.csv").unlink()
    elif change == "rename":
        (data / "c.csv").rename(data / "d.csv")
    elif change == "edit":
        (data / "c.csv").write_bytes(b"changed")
    elif change == "subfolder":
        (data / "sub").mkdir()
        (data / "sub" / "x.bin").write_bytes(b"x")
    else:
        (data / "link.bin").symlink_to(data / "a.bin")
    truth = facts(build(repo, cache=False))
    watch = Watch(monkeypatch)
    assert facts(build(repo)) == truth and watch.known == []


@pytest.mark.parametrize("md5", ["-" * 31 + "a", "A" * 32, "a" * 31 + "-"])
def test_a_row_with_an_md5_neither_a_digest_nor_none_is_not_trusted_at_once(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, md5: str
) -> None:
    truth = facts(build(repo, cache=False))
    build(repo, md5_claimed=True)
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        (old,) = db.execute("SELECT md5 FROM folders_v2").fetchone()
        db.execute("UPDATE folders_v2 SET md5 = ?", (old[:32] + md5 + old[64:],))
    db.close()
    watch = Watch(monkeypatch)
    assert facts(build(repo)) == truth and watch.known == []


def test_an_empty_folder_and_a_cache_off_are_walked(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(repo)
    watch = Watch(monkeypatch)
    assert facts(build(repo, cache=False)) == facts(build(repo))
    assert watch.known == ["data"]
    empty = repo / "empty"
    empty.mkdir()
    graph = ProvenanceGraph(str(repo))
    graph.add_artifact("empty")
    build_workspace(graph, BuildContext(repo, Keyring({})))
    assert graph.workspace("empty") is not None and watch.known == ["data"]


def test_a_file_gone_between_listing_and_status_leaves_the_folder_to_the_walk(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth = facts(build(repo, cache=False))
    build(repo)

    def gone(entries: list[os.DirEntry[str]]) -> list[os.stat_result]:
        raise FileNotFoundError(entries[-1].path)

    monkeypatch.setattr(workspace, "_statuses", gone)
    watch = Watch(monkeypatch)
    assert facts(build(repo)) == truth and watch.known == []


def test_a_cache_that_fails_when_read_is_ignored(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth = facts(build(repo, cache=False))
    build(repo)

    def failing(self: HashCache, root: str) -> object:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(HashCache, "_under", failing)
    watch = Watch(monkeypatch)
    warm = build(repo)
    assert watch.known == [] and sorted(watch.read) == sorted(NAMES)  # hashed, as with no cache
    assert facts(warm) == truth


def file_artifacts(root: Path, claimed: bool = False, cache: bool = True) -> dict[str, object]:
    """The digests (sha256, md5, size) of each file of ``root/data`` as a file artifact."""
    graph = ProvenanceGraph(str(root))
    for name in NAMES:
        graph.add_artifact(f"data/{name}")
        if claimed:
            claim = DigestClaim("md5", "0" * 32, SourceRef("dvc.lock"))
            graph.add_claim(f"data/{name}", claim)
    build_workspace(graph, BuildContext(root, Keyring({}), hash_cache=cache))
    return {name: graph.workspace(f"data/{name}") for name in NAMES}


@pytest.mark.parametrize("claimed_first", [False, True])
@pytest.mark.parametrize("claimed", [False, True])
def test_the_file_artifacts_of_a_folder_known_at_once_have_the_digests_of_their_files(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, claimed_first: bool, claimed: bool
) -> None:
    truth = file_artifacts(repo, cache=False)
    file_artifacts(repo, claimed_first)
    watch = Watch(monkeypatch)
    warm = file_artifacts(repo, claimed)
    again = claimed and not claimed_first  # the md5s the row lacks are read
    assert sorted(watch.read) == (sorted(NAMES) if again else [])
    assert watch.known == ([] if again else [f"data/{name}" for name in sorted(NAMES)])
    assert warm == truth  # the pending md5s computed (in one more read) when compared


@pytest.mark.parametrize("change", ["edit", "add", "not-all", "link", "key"])
def test_file_artifacts_not_exactly_a_cached_row_are_looked_up_one_by_one(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    file_artifacts(repo)
    data = repo / "data"
    if change == "edit":
        (data / "c.csv").write_bytes(b"changed")
    elif change == "add":  # the row gains a file no artifact names
        build(repo)
    elif change == "link":
        (data / "c.csv").unlink()
        (data / "c.csv").symlink_to(data / "a.bin")
    elif change == "key":
        edit_row(cache_dir, 2, 1)
    truth = file_artifacts(repo, cache=False)
    graph = ProvenanceGraph(str(repo))
    names = NAMES[1:] if change == "not-all" else NAMES
    for name in names:
        graph.add_artifact(f"data/{name}")
    if change == "add":
        (data / "new.bin").write_bytes(b"new")
        graph.add_artifact("data/new.bin")
        build(repo)  # cached as part of the folder
        os.remove(data / "new.bin")
    watch = Watch(monkeypatch)
    build_workspace(graph, BuildContext(repo, Keyring({})))
    assert watch.read == (["c.csv"] if change in ("edit", "key") else [])
    assert watch.known == []
    found = {name: graph.workspace(f"data/{name}") for name in names}
    assert found == {name: truth[name] for name in names}  # pending md5s computed
