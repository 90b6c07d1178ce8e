"""The DVC cache builder on cache folders written here: which bytes count, and where."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc.caches import DEFERRED_KEY, CachedObject, DvcCaches
from policy_engine.graph.builders.dvccache import build_dvc_cache
from policy_engine.graph.builders.dvcdir import tree_md5
from policy_engine.graph.builders.workspace import hash_file
from policy_engine.graph.model import ProvenanceGraph, SourceRef, WorkspaceFile
from policy_engine.keys import Keyring

LOCK = SourceRef("dvc.lock", 3, "stage `train` out")


class FolderOdb:
    """DVC's object layout (``xx/rest``) over a folder, as dvc-data's ``oid_to_path`` lays it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def oid_to_path(self, oid: str) -> str:
        return os.path.join(self.path, oid[:2], oid[2:])


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class Cache:
    """A cache folder with objects, and the records the DVC builder would leave."""

    def __init__(self, folder: Path) -> None:
        self.caches = DvcCaches({"md5": FolderOdb(folder)})  # type: ignore[dict-item]
        self.records: dict[str, list[CachedObject]] = {}

    def put(self, data: bytes, *, stored: bytes | None = None) -> str:
        digest = md5(data)
        location = self.caches.object_path("md5", digest)
        assert location is not None
        os.makedirs(os.path.dirname(location), exist_ok=True)
        Path(location).write_bytes(data if stored is None else stored)
        return digest

    def record(self, path: str, digest: str, files: tuple[CachedObject, ...] | None = None) -> None:
        cached = self.caches.cached(path, {"md5": digest}, LOCK, files)
        assert cached is not None
        self.records.setdefault(path, []).append(cached)

    def build(self, root: Path, *paths: str) -> ProvenanceGraph:
        graph = ProvenanceGraph(str(root))
        for path in paths:
            graph.add_artifact(path)
        context = BuildContext(root, Keyring({}), hash_cache=False)
        context.deferred[DEFERRED_KEY] = self.records
        build_dvc_cache(graph, context)
        return graph


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def test_object_ids_that_are_not_dvc_digests_lead_nowhere(cache: Cache) -> None:
    for value in ("../../etc/passwd", "ab/../../x", "/etc/passwd", "A" * 32, "0" * 31, ""):
        assert cache.caches.object_path("md5", value) is None
    assert cache.caches.object_path("md5", "0" * 32) is not None
    assert cache.caches.object_path("md5", "0" * 32 + ".dir") is not None
    assert cache.caches.object_path("md5-dos2unix", "0" * 32) is None  # no such cache


def test_a_file_in_the_cache_is_current_bytes_there(cache: Cache, tmp_path: Path) -> None:
    cache.record("models/m.pkl", cache.put(b"model"))
    graph = cache.build(tmp_path, "models/m.pkl")
    current = graph.workspace("models/m.pkl")
    assert current == WorkspaceFile(hashlib.sha256(b"model").hexdigest(), md5(b"model"), 5,
                                    "dvc-cache")  # fmt: skip
    assert graph.unmaterialised() == {} and graph.issues == []


def test_a_file_in_neither_place_is_not_materialised(cache: Cache, tmp_path: Path) -> None:
    cache.record("models/m.pkl", md5(b"never stored"))
    graph = cache.build(tmp_path, "models/m.pkl")
    assert graph.workspace("models/m.pkl") is None
    [(path, claim)] = graph.unmaterialised().items()
    assert (path, claim.algorithm, claim.value, claim.source) == (
        "models/m.pkl", "md5", md5(b"never stored"), LOCK,
    )  # fmt: skip


def test_an_object_that_does_not_hash_to_its_digest_does_not_count(
    cache: Cache, tmp_path: Path
) -> None:
    cache.record("models/m.pkl", cache.put(b"model", stored=b"mode1"))
    graph = cache.build(tmp_path, "models/m.pkl")
    assert graph.workspace("models/m.pkl") is None
    assert "models/m.pkl" in graph.unmaterialised()
    [issue] = graph.issues
    assert issue.code == "cache-object" and issue.subject == "models/m.pkl"
    assert "does not hash to the `md5` DVC recorded" in issue.message


def test_a_directory_is_at_hand_with_every_file(cache: Cache, tmp_path: Path) -> None:
    files = {"data/d/a.csv": b"a", "data/d/sub/b.csv": b"b"}
    parts = []
    for path, data in files.items():
        cache.record(path, cache.put(data))
        parts.append(cache.records[path][0])
    dir_md5 = tree_md5([("a.csv", md5(b"a")), ("sub/b.csv", md5(b"b"))])
    cache.record("data/d", dir_md5, tuple(parts))
    graph = cache.build(tmp_path, "data/d", *files)
    current = graph.workspace("data/d")
    assert current is not None and current.location == "dvc-cache"
    assert current.md5 == dir_md5 and current.size == 2
    assert {graph.workspace(p).location for p in files} == {"dvc-cache"}  # type: ignore[union-attr]


def test_a_directory_missing_a_file_is_not_materialised(cache: Cache, tmp_path: Path) -> None:
    cache.record("data/d/a.csv", cache.put(b"a"))
    cache.record("data/d/b.csv", md5(b"not stored"))
    parts = (cache.records["data/d/a.csv"][0], cache.records["data/d/b.csv"][0])
    cache.record("data/d", tree_md5([("a.csv", md5(b"a")), ("b.csv", md5(b"not stored"))]), parts)
    graph = cache.build(tmp_path, "data/d", "data/d/a.csv", "data/d/b.csv")
    assert sorted(graph.unmaterialised()) == ["data/d", "data/d/b.csv"]
    assert graph.workspace("data/d/a.csv") is not None


def test_bytes_in_the_workspace_are_left_alone(cache: Cache, tmp_path: Path) -> None:
    cache.record("models/m.pkl", cache.put(b"model"))
    (tmp_path / "m.pkl").write_bytes(b"other")
    graph = ProvenanceGraph(str(tmp_path))
    graph.set_workspace("models/m.pkl", hash_file(str(tmp_path / "m.pkl")))
    context = BuildContext(tmp_path, Keyring({}), hash_cache=False)
    context.deferred[DEFERRED_KEY] = cache.records
    build_dvc_cache(graph, context)
    current = graph.workspace("models/m.pkl")
    assert current is not None and current.location == "workspace" and current.size == 5


def test_the_cache_repo_is_part_of_the_build_context(tmp_path: Path) -> None:
    context = BuildContext(tmp_path, Keyring({}))
    assert context.cache_repo is None
    other = BuildContext(tmp_path, Keyring({}), cache_repo=tmp_path / "head")
    assert other.cache_repo == tmp_path / "head"


def test_cached_outputs_are_the_objects_cached_gives_in_order(tmp_path: Path) -> None:
    from policy_engine.graph.builders.dvc.caches import CachedOutputs

    caches = DvcCaches({"md5": FolderOdb(tmp_path)})  # type: ignore[dict-item]
    legacy = DvcCaches({})  # no cache for either hash name: objects without a location
    files = (CachedObject("d/x", "md5", "ab" * 16, None, LOCK),)
    given = [
        (caches, "a", {"md5": "0" * 32}, None),
        (legacy, "a", {"md5-dos2unix": "1" * 32}, None),
        (caches, "d", {"md5": "2" * 32 + ".dir"}, files),
        (caches, "b", {"md5": "3" * 32, "md5-dos2unix": "4" * 32}, None),
        (caches, "c", {}, None),  # no digest: nothing the cache could hold
        (caches, "c", {"md5": ""}, None),
        (caches, "c", {"etag": "x"}, None),
    ]
    lazy = CachedOutputs()
    eager: dict[str, list[CachedObject]] = {}
    for owner, path, digest, held in given:
        lazy.add(owner, path, digest, LOCK, held)
        cached = owner.cached(path, digest, LOCK, held)
        if cached is not None:
            eager.setdefault(path, []).append(cached)
    assert list(lazy) == list(eager) == ["a", "d", "b"]
    assert len(lazy) == 3
    assert lazy == eager
    assert lazy["a"][1].location is None and lazy["d"][0].files == files
    with pytest.raises(KeyError):
        lazy["c"]
