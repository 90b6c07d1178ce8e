"""Directories as DVC records them, on repositories made by the real ``dvc add``.

The workspace builder's ``.dir`` md5 must be the one ``dvc add`` writes in the
``.dvc`` file, with ``.dvcignore`` files (at the root and in a parent folder,
with a negation, an ignored folder and a path anchored in a nested file) and
DVC's default ignores honoured; the DVC builder must read the manifest from the
very file DVC wrote in its cache. Neither writes anything in the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import build_dvc, manifests
from policy_engine.graph.builders.dvcdir import tree_md5
from policy_engine.graph.builders.workspace import build_workspace, hash_file
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "GIT_CONFIG_NOSYSTEM": "1",
}
IMAGES = {
    "a.png": "png a",
    "b.tmp": "ignored by *.tmp",
    "keep.tmp": "kept by !keep.tmp",
    "thumbs/t.png": "ignored folder",
    "nested/c.png": "png c",
    "nested/skip.bin": "ignored by an anchored pattern in data/.dvcignore",
    "nested/deep/d.tmp": "ignored by *.tmp, two levels down",
    "nested/deep/é.txt": "non-ASCII name",
    ".hg/store": "ignored by DVC by default",
    "a-b/x.txt": "sorts before a/ as a path",
}
KEPT = {"a.png", "keep.tmp", "nested/c.png", "nested/deep/é.txt", "a-b/x.txt"}
CORPUS_MANIFESTS = (
    sorted(p for p in CORPUS.rglob("*.dir") if ".dvc/cache" in p.as_posix())
    if CORPUS.is_dir()
    else []
)


def run(cwd: Path, *args: str) -> None:
    command = [str(BIN / "dvc"), *args] if args[0] != "git" else list(args)
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


def added_repo(root: Path, ignores: dict[str, str]) -> Path:
    """git init, dvc init, ``data/images`` with IMAGES, the given ignore files, dvc add."""
    for relpath, text in IMAGES.items():
        (root / "data" / "images" / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / "data" / "images" / relpath).write_text(text)
    run(root, "git", "init", "-q")
    run(root, "init", "-q")
    (root / ".dvcignore").unlink()
    for relpath, text in ignores.items():
        (root / relpath).write_text(text)
    run(root, "add", "-q", "data/images")
    return root


def recorded_md5(root: Path) -> str:
    [out] = yaml.safe_load((root / "data" / "images.dvc").read_text())["outs"]
    return out["md5"]


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` with its mode, size and mtime."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            info = Path(folder, name).lstat()
            seen[os.path.relpath(Path(folder, name), root)] = (
                info.st_mode,
                info.st_size,
                info.st_mtime_ns,
            )
    return seen


def workspace_md5(root: Path, path: str = "data/images") -> str | None:
    graph = ProvenanceGraph(str(root))
    graph.add_artifact(path)
    build_workspace(graph, BuildContext(root, Keyring({}), hash_cache=False), hash_file)
    digest = graph.workspace(path)
    return digest.md5 if digest else None


@pytest.fixture(scope="module")
def ignoring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ignoring")
    ignores = {".dvcignore": "*.tmp\n!keep.tmp\n", "data/.dvcignore": "images/thumbs/\n"}
    ignores["data/.dvcignore"] += "/images/nested/skip.bin\n"
    return added_repo(root, ignores)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return added_repo(tmp_path_factory.mktemp("plain"), {})


def cached_manifest(root: Path) -> Path:
    [manifest] = (root / ".dvc" / "cache").rglob("*.dir")
    return manifest


# -- the directory digest -----------------------------------------------------------------
@pytest.mark.slow
def test_directory_md5_honours_dvcignore_as_dvc_add(ignoring: Path) -> None:
    listed = json.loads(cached_manifest(ignoring).read_text())
    assert {entry["relpath"] for entry in listed} == KEPT  # DVC itself left the others out
    before = snapshot(ignoring)
    assert workspace_md5(ignoring) == recorded_md5(ignoring)
    assert snapshot(ignoring) == before


@pytest.mark.slow
def test_directory_md5_without_dvcignore_as_dvc_add(plain: Path) -> None:
    listed = json.loads(cached_manifest(plain).read_text())
    assert {entry["relpath"] for entry in listed} == set(IMAGES) - {".hg/store"}
    before = snapshot(plain)
    assert workspace_md5(plain) == recorded_md5(plain)
    assert snapshot(plain) == before


def test_outside_a_dvc_project_nothing_is_ignored(tmp_path: Path) -> None:
    for relpath, text in IMAGES.items():
        (tmp_path / "data" / "images" / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "images" / relpath).write_text(text)
    (tmp_path / ".dvcignore").write_text("*\n")
    entries = ((rel, hashlib.md5(text.encode()).hexdigest()) for rel, text in IMAGES.items())
    assert workspace_md5(tmp_path) == tree_md5(entries)


# -- the cached manifest ------------------------------------------------------------------
@pytest.mark.slow
def test_manifest_is_read_where_dvc_wrote_it(
    ignoring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    real_read = manifests._read_bounded
    monkeypatch.setattr(manifests, "_read_bounded", lambda p: read.append(p) or real_read(p))
    digest = recorded_md5(ignoring)
    before = snapshot(ignoring)
    graph = ProvenanceGraph(str(ignoring))
    build_dvc(graph, BuildContext(ignoring, Keyring({})))
    assert snapshot(ignoring) == before
    layout = Path(".dvc", "cache", "files", "md5", digest[:2], digest[2:])
    assert read == [str(ignoring / layout)] == [str(cached_manifest(ignoring))]
    assert {path for path in KEPT if graph.claims(f"data/images/{path}")} == KEPT
    assert graph.artifact_id("data/images/b.tmp") not in graph.g


@pytest.mark.skipif(
    not CORPUS_MANIFESTS, reason="no repository of the shared corpus has a DVC cache with a .dir"
)
@pytest.mark.parametrize("manifest", CORPUS_MANIFESTS, ids=str)
def test_corpus_cached_manifests_hash_to_their_names(manifest: Path) -> None:
    from dvc.fs import localfs
    from dvc_data.hashfile.db.local import LocalHashFileDB

    cache = next(p for p in manifest.parents if p.name == "md5")
    oid = f"{manifest.parent.name}{manifest.name}"
    assert LocalHashFileDB(localfs, str(cache)).oid_to_path(oid) == str(manifest)
    entries = [(e["relpath"], e["md5"]) for e in json.loads(manifest.read_bytes())]
    assert tree_md5(entries) == oid
