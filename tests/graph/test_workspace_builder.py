"""Tests for the workspace builder: real digests of the artifacts present in the repository."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.workspace import (
    CHUNK_BYTES,
    Hasher,
    Stats,
    build_workspace,
    directory_digest,
    hash_file,
    hash_files,
    plan_artifact,
)
from policy_engine.graph.model import DigestClaim, ProvenanceGraph, SourceRef, WorkspaceFile
from policy_engine.keys import Keyring


class SpyHasher:
    """Records every path the builder asks to hash, then hashes it for real."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, path: str) -> WorkspaceFile:
        self.paths.append(path)
        return hash_file(path)


def expected(data: bytes) -> WorkspaceFile:
    return WorkspaceFile(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))


def digest_of(folder: Path, *relpaths: str) -> WorkspaceFile:
    """The directory digest of exactly these files of ``folder``."""
    return directory_digest([(rel, expected((folder / rel).read_bytes())) for rel in relpaths])


def build(root: Path, *paths: str, hasher: Hasher | None = None) -> ProvenanceGraph:
    graph = ProvenanceGraph(str(root))
    for path in paths:
        graph.add_artifact(path)
    build_workspace(graph, BuildContext(root, Keyring({})), hasher or hash_file)
    return graph


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data" / "raw" / "nested").mkdir(parents=True)
    (root / "data" / "raw" / "a.csv").write_bytes(b"id,label\n1,cat\n")
    (root / "data" / "raw" / "nested" / "b.bin").write_bytes(bytes(range(256)) * 3)
    (root / "data" / "raw" / "z.txt").write_bytes(b"")
    return root


# -- files -------------------------------------------------------------------------------
def test_hash_file_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = os.urandom(CHUNK_BYTES * 2 + 12345)
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    assert hash_file(str(path)) == expected(data)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert hash_file(str(empty)) == expected(b"")


def test_file_artifacts_get_real_digests(repo: Path) -> None:
    (repo / "model.pkl").write_bytes(b"weights")
    graph = build(repo, "model.pkl", "data/raw/a.csv")
    assert graph.workspace("model.pkl") == expected(b"weights")
    assert graph.workspace("data/raw/a.csv") == expected(b"id,label\n1,cat\n")
    assert graph.issues == []


def test_missing_file_keeps_workspace_none(repo: Path) -> None:
    graph = build(repo, "models/never-built.pkl", "data/raw/a.csv")
    assert graph.workspace("models/never-built.pkl") is None
    assert graph.workspace("data/raw/a.csv") is not None
    assert graph.issues == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_never_opened_for_reading(repo: Path) -> None:
    os.mkfifo(repo / "pipe")
    os.mkfifo(repo / "data" / "raw" / "pipe")
    with pytest.raises(OSError, match="not a regular file"):
        hash_file(str(repo / "pipe"))  # returns at once instead of blocking
    spy = SpyHasher()
    graph = build(repo, "pipe", "data/raw", hasher=spy)
    assert graph.workspace("pipe") is None
    assert not any(p.endswith("pipe") for p in spy.paths)
    raw = repo / "data" / "raw"
    assert graph.workspace("data/raw") == digest_of(raw, "a.csv", "nested/b.bin", "z.txt")


def test_each_file_is_read_once(repo: Path) -> None:
    spy = SpyHasher()
    os.symlink("raw/a.csv", repo / "data" / "alias.csv")
    graph = build(repo, "data", "data/raw", "data/raw/a.csv", "data/alias.csv", hasher=spy)
    assert sorted(spy.paths) == sorted(set(spy.paths))
    assert len(spy.paths) == 3  # a.csv, b.bin, z.txt
    assert graph.workspace("data/alias.csv") == graph.workspace("data/raw/a.csv")


def test_hash_files_hashes_each_path_once_and_returns_errors(repo: Path) -> None:
    spy = SpyHasher()
    a, missing = str(repo / "data" / "raw" / "a.csv"), str(repo / "missing")
    result = hash_files([a, missing, a], spy, workers=2)
    assert sorted(spy.paths) == sorted([a, missing])
    assert result[a] == expected(b"id,label\n1,cat\n")
    assert isinstance(result[missing], FileNotFoundError)


def test_a_file_that_cannot_be_read_is_an_issue(repo: Path) -> None:
    def failing(path: str) -> WorkspaceFile:
        if path.endswith("b.bin"):
            raise PermissionError(13, "Permission denied", path)
        return hash_file(path)

    graph = build(repo, "data/raw", "data/raw/nested/b.bin", "data/raw/a.csv", hasher=failing)
    assert graph.workspace("data/raw") is None
    assert graph.workspace("data/raw/nested/b.bin") is None
    assert graph.workspace("data/raw/a.csv") is not None
    assert sorted((i.code, i.subject) for i in graph.issues) == [
        ("unreadable-file", "data/raw"),
        ("unreadable-file", "data/raw/nested/b.bin"),
    ]
    assert all("Permission denied" in i.message for i in graph.issues)


# -- directories ---------------------------------------------------------------------------
def manifest_digest(root: Path) -> WorkspaceFile:
    """The documented manifest, computed independently with hashlib."""
    files = sorted(
        (p.relative_to(root).as_posix(), p.read_bytes()) for p in root.rglob("*") if p.is_file()
    )
    sha = [{"relpath": rel, "sha256": hashlib.sha256(b).hexdigest()} for rel, b in files]
    md5 = [{"md5": hashlib.md5(b).hexdigest(), "relpath": rel} for rel, b in files]
    return WorkspaceFile(
        hashlib.sha256(json.dumps(sha, sort_keys=True).encode()).hexdigest(),
        hashlib.md5(json.dumps(md5, sort_keys=True).encode()).hexdigest() + ".dir",
        sum(len(b) for _, b in files),
    )


def test_directory_digest_is_the_documented_manifest(repo: Path) -> None:
    digest = build(repo, "data/raw").workspace("data/raw")
    assert digest == manifest_digest(repo / "data" / "raw")
    assert digest is not None and digest.size == 15 + 768


def test_directory_digest_is_stable_and_tracks_changes(repo: Path) -> None:
    first = build(repo, "data/raw").workspace("data/raw")
    assert build(repo, "data/raw").workspace("data/raw") == first
    (repo / "data" / "raw" / "nested" / "b.bin").write_bytes(b"changed")
    changed = build(repo, "data/raw").workspace("data/raw")
    assert changed is not None and first is not None
    assert changed.sha256 != first.sha256 and changed.md5 != first.md5
    (repo / "data" / "raw" / "nested" / "b.bin").rename(repo / "data" / "raw" / "b.bin")
    renamed = build(repo, "data/raw").workspace("data/raw")
    assert renamed is not None and renamed.sha256 != changed.sha256
    assert renamed.size == changed.size


def test_directory_md5_equals_dvc_directory_hash(repo: Path) -> None:
    tree_module = pytest.importorskip("dvc_data.hashfile.tree")
    from dvc_data.hashfile.hash_info import HashInfo

    tree = tree_module.Tree()
    folder = repo / "data" / "raw"
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        tree.add(path.relative_to(folder).parts, None, HashInfo("md5", md5))
    tree.digest()
    digest = build(repo, "data/raw").workspace("data/raw")
    assert digest is not None and digest.md5 == tree.hash_info.value


def test_directory_digest_orders_by_relative_path() -> None:
    a, b = expected(b"a"), expected(b"b")
    assert directory_digest([("x/b", b), ("a", a)]) == directory_digest([("a", a), ("x/b", b)])
    assert directory_digest([("a", a), ("b", b)]) != directory_digest([("a", b), ("b", a)])
    assert directory_digest([]).size == 0


# -- confinement ---------------------------------------------------------------------------
def test_symlink_leaving_the_root_is_an_issue_and_not_read(repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"do not read")
    os.symlink(secret, repo / "model.pkl")
    os.symlink(secret, repo / "data" / "raw" / "leak.txt")
    os.symlink(tmp_path, repo / "data" / "raw" / "outside-dir")
    spy = SpyHasher()
    graph = build(repo, "model.pkl", "data/raw", hasher=spy)
    assert graph.workspace("model.pkl") is None
    assert not any(p.startswith(str(tmp_path / "secret")) for p in spy.paths)
    assert all(p.startswith(os.path.realpath(repo)) for p in spy.paths)
    escapes = sorted(e.value for i in graph.issues for e in i.evidence if e.label == "path")
    assert escapes == ["data/raw/leak.txt", "data/raw/outside-dir", "model.pkl"]
    assert {i.code for i in graph.issues} == {"path-escape"}
    raw = repo / "data" / "raw"
    assert graph.workspace("data/raw") == digest_of(raw, "a.csv", "nested/b.bin", "z.txt")


def test_symlinked_files_inside_the_root_are_followed_but_not_directories(repo: Path) -> None:
    raw = repo / "data" / "raw"
    os.symlink("a.csv", raw / "copy.csv")
    os.symlink("../..", raw / "nested" / "loop")  # a cycle through data/
    os.symlink("nested", raw / "again")
    graph = build(repo, "data/raw")
    files = ("a.csv", "copy.csv", "nested/b.bin", "z.txt")
    assert graph.workspace("data/raw") == digest_of(raw, *files)
    assert graph.issues == []


def test_folders_resolve_as_realpath_does(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(root / "a")
    (root / "a" / "up").symlink_to("..")
    (root / "away").symlink_to(tmp_path / "outside")
    (root / "loop").symlink_to(root / "loop")
    paths = (
        "a/b/f",
        "link/b/f",
        "a/up/a/b/f",
        "away/f",
        "a/../away/f",
        "a/b/../b/f",
        "./a//b/f",
        "loop/f",
    )
    for stats in (Stats(), Stats(root=os.path.realpath(root))):  # symlinks from the listings
        for path in (*paths, *paths):  # the second time from the folders already seen
            expected = os.path.realpath(os.path.join(root, path))
            assert stats.resolve(str(root), path) == (expected, None), path


def test_a_listed_folder_whose_type_cannot_be_read_is_no_symlink(tmp_path: Path) -> None:
    """As ``os.path.islink`` answers False for a status it cannot take."""
    (tmp_path / "a").mkdir()

    class Unreadable:
        def is_symlink(self) -> bool:
            raise PermissionError("denied")

    stats = Stats(root=str(tmp_path))
    stats.listings.entry = lambda folder, name: Unreadable()  # type: ignore[method-assign,assignment,return-value]
    assert stats.real_folder(str(tmp_path / "a")) == str(tmp_path / "a")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.text(), st.sampled_from("0123456789abcdef")), unique_by=lambda t: t[0])
)
def test_the_directory_manifest_is_json_dumps_output(names: list[tuple[str, str]]) -> None:
    """Any names (quotes, backslashes, control characters, lone surrogates) give the digest of
    ``json.dumps`` of the documented manifest."""
    files = [(name, WorkspaceFile(digit * 64, digit * 32, 1)) for name, digit in names]
    manifest = [{"relpath": n, "sha256": f.sha256} for n, f in sorted(files, key=lambda i: i[0])]
    text = json.dumps(manifest, sort_keys=True)
    assert directory_digest(files).sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_listed_files_are_planned_as_plan_artifact_plans_them(tmp_path: Path) -> None:
    """The shortcut for files listed in their folder gives the general path's plan and key,
    or leaves the path to it; on symlinks, escapes, FIFOs, folders and odd names alike."""
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "f").write_text("out")
    (root / "a" / "b" / "f").write_text("in")
    (root / "top.txt").write_text("top")
    (root / "link").symlink_to(root / "a")
    (root / "away").symlink_to(tmp_path / "outside")
    (root / "a" / "file-link").symlink_to(root / "top.txt")
    (root / "a" / "escape").symlink_to(tmp_path / "outside" / "f")
    os.mkfifo(root / "a" / "fifo")
    paths = [
        "top.txt",
        "a/b/f",
        "link/b/f",
        "away/f",
        "a/file-link",
        "a/escape",
        "a/fifo",
        "a/b",
        "a/missing",
        "missing/f",
        "top.txt/under",
        "a/../top.txt",
        "a/b/../b/f",
        "./top.txt",
        "a//b/f",
        "/etc/hostname",
        ".",
        "",
    ]
    real = os.path.realpath(root)
    for path in paths:
        fast, general = Stats(), Stats()
        shortcut = fast.listed_file(real, path)
        planned = plan_artifact(ProvenanceGraph(real), real, path, stats=general)
        if shortcut is not None:
            assert shortcut == planned and fast.keys == general.keys, path
    taken = Stats()
    shortcuts = [p for p in paths if taken.listed_file(real, p)]
    assert shortcuts == ["top.txt", "a/b/f", "link/b/f", *paths[11:15]]  # regular files inside
    for order in (paths, sorted(paths), paths[::-1]):  # in bulk, in any order: the same
        bulk = Stats()
        assert bulk.listed_files(real, order) == {p: taken.listed_file(real, p) for p in shortcuts}
        assert bulk.keys == taken.keys


def test_bulk_graph_accessors_equal_the_per_path_ones(tmp_path: Path) -> None:
    graph = ProvenanceGraph(str(tmp_path))
    graph.add_artifact("a")
    graph.add_claim("b", DigestClaim("md5", "0" * 32, SourceRef("dvc.lock")))
    assert dict(graph.artifact_claims()) == {p: graph.claims(p) for p in ("a", "b")}
    files = [("a", WorkspaceFile("1" * 64, "2" * 32, 1)), ("b", None), ("new", None)]
    graph.set_workspaces(files)
    assert [(p, graph.workspace(p)) for p, _ in files] == files


def test_no_folder_outside_the_root_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "f").write_text("out")
    (root / "away").symlink_to(tmp_path / "outside")
    listed: list[str] = []
    real = os.scandir

    def scandir(path: str) -> object:
        listed.append(os.path.realpath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    graph = build(root, "away/f", "away")
    assert graph.workspace("away/f") is None and {i.code for i in graph.issues} == {"path-escape"}
    assert not [p for p in listed if not p.startswith(os.path.realpath(root))]
