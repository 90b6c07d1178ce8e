"""md5 only where a recorded md5 is compared: in the same read there, lazily elsewhere."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from policy_engine.graph.builders import BuildContext, workspace
from policy_engine.graph.builders.hashcache import FileDigests, FileKey
from policy_engine.graph.builders.workspace import (
    CHUNK_BYTES,
    build_workspace,
    directory_digest,
    hash_file,
    hash_file_keyed,
)
from policy_engine.graph.model import DigestClaim, ProvenanceGraph, SourceRef, WorkspaceFile
from policy_engine.keys import Keyring

LOCK = SourceRef("dvc.lock", 3, "out")
EDGE_SIZES = (0, 1, 2047, 2048, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 5)


pytestmark = pytest.mark.usefixtures("cache_dir")  # a fresh hash cache each test


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.bin").write_bytes(b"a" * 5000)
    (root / "data" / "b.bin").write_bytes(os.urandom(3000))
    (root / "model.pkl").write_bytes(b"weights" * 1000)
    (root / "train.py").write_bytes(b"print('train')\n")
    return root


class Reads:
    """Every read of a file, as (its name, whether its md5 was computed in that read)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, bool]] = []
        real = workspace.hash_file_keyed

        def counting(path: str, md5: bool = True) -> tuple[FileDigests, FileKey | None]:
            self.calls.append((os.path.basename(path), md5))
            return real(path, md5)

        monkeypatch.setattr(workspace, "hash_file_keyed", counting)


def build(root: Path, claims: dict[str, str], *paths: str, cache: bool = True) -> ProvenanceGraph:
    graph = ProvenanceGraph(str(root))
    for path in paths:
        graph.add_artifact(path)
    for path, value in claims.items():
        graph.add_claim(path, DigestClaim("md5", value, LOCK))
    build_workspace(graph, BuildContext(root, Keyring({}), hash_cache=cache))
    return graph


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("size", EDGE_SIZES)
def test_one_read_gives_hashlibs_digests_with_md5_or_without(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    sha256, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()
    assert hash_file_keyed(str(path))[0] == FileDigests(sha256, md5, size)
    assert hash_file_keyed(str(path), md5=False)[0] == FileDigests(sha256, None, size)
    assert hash_file(str(path)) == WorkspaceFile(sha256, md5, size)


def test_a_claimed_file_gets_its_md5_in_the_same_read(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(monkeypatch)
    graph = build(repo, {"model.pkl": "0" * 32}, "model.pkl", "train.py")
    assert sorted(reads.calls) == [("model.pkl", True), ("train.py", False)]
    current = graph.workspace("model.pkl")
    assert current is not None and current.md5 == md5_of(repo / "model.pkl")
    assert len(reads.calls) == 2  # it was there already


def test_an_unclaimed_md5_is_computed_when_asked_once_for_all(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = build(repo, {}, "model.pkl", "train.py", cache=False)
    reads = Reads(monkeypatch)
    train, model = graph.workspace("train.py"), graph.workspace("model.pkl")
    assert train is not None and model is not None and reads.calls == []
    assert train.sha256 == hashlib.sha256((repo / "train.py").read_bytes()).hexdigest()
    assert reads.calls == []  # the sha256 does not need it
    assert train.digest("md5") == md5_of(repo / "train.py")
    assert sorted(reads.calls) == [("model.pkl", True), ("train.py", True)]
    assert model.md5 == md5_of(repo / "model.pkl") and len(reads.calls) == 2


def test_a_claimed_directory_gets_dvcs_digest_from_its_files_read_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eager = directory_digest([(n, hash_file(str(repo / "data" / n))) for n in ("a.bin", "b.bin")])
    reads = Reads(monkeypatch)
    graph = build(repo, {"data": "0" * 32 + ".dir"}, "data", "train.py")
    assert sorted(reads.calls) == [("a.bin", True), ("b.bin", True), ("train.py", False)]
    assert graph.workspace("data") == eager and eager.md5.endswith(".dir")
    assert len(reads.calls) == 3


def test_a_lazy_md5_of_a_file_changed_since_matches_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = build(repo, {}, "train.py", cache=False)
    (repo / "train.py").write_bytes(b"print('other')\n")
    current = graph.workspace("train.py")
    assert current is not None and current.md5 == ""  # not the md5 of bytes it never read
    (repo / "train.py").unlink()
    graph = build(repo, {}, "model.pkl", cache=False)
    os.remove(repo / "model.pkl")
    current = graph.workspace("model.pkl")
    assert current is not None and current.md5 == ""


def test_md5s_computed_later_are_remembered_by_the_hash_cache(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = build(repo, {}, "model.pkl", "train.py")
    current = graph.workspace("train.py")
    assert current is not None and current.md5 == md5_of(repo / "train.py")
    reads = Reads(monkeypatch)
    graph = build(repo, {"train.py": "0" * 32}, "model.pkl", "train.py")
    current = graph.workspace("train.py")
    assert reads.calls == [] and current is not None
    assert current.md5 == md5_of(repo / "train.py")


def test_a_cached_digest_without_md5_is_read_again_once_md5_is_claimed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(repo, {}, "model.pkl", "train.py")  # remembered without md5
    reads = Reads(monkeypatch)
    graph = build(repo, {"train.py": "0" * 32}, "model.pkl", "train.py")
    assert reads.calls == [("train.py", True)]
    current = graph.workspace("train.py")
    assert current is not None and current.md5 == md5_of(repo / "train.py")
    reads.calls.clear()
    build(repo, {"train.py": "0" * 32}, "model.pkl", "train.py")
    assert reads.calls == []


def test_a_lazy_workspace_file_equals_an_eager_one(repo: Path) -> None:
    graph = build(repo, {}, "model.pkl", cache=False)
    assert graph.workspace("model.pkl") == hash_file(str(repo / "model.pkl"))
    with pytest.raises(AttributeError):
        graph.workspace("model.pkl").md5 = "x"  # type: ignore[misc, union-attr]


@pytest.mark.parametrize("md5", ["b" * 32, lambda: "c" * 32])
def test_workspace_file_of_is_the_dataclass_built_field_by_field(md5: object) -> None:
    built = WorkspaceFile("a" * 64, md5, 5)  # type: ignore[arg-type]
    at_once = WorkspaceFile.of("a" * 64, md5, 5)  # type: ignore[arg-type]
    assert vars(at_once) == vars(built)  # every field, md5 still pending where it was
    assert at_once == built and hash(at_once) == hash(built) and at_once.md5 == built.md5
    with pytest.raises(AttributeError):
        at_once.sha256 = "x"  # type: ignore[misc]
