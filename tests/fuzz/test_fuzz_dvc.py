"""Fuzzing the DVC builder: any ``dvc.yaml``, ``dvc.lock``, ``params.yaml``, ``.dvc`` file,
``.dvc/config`` or cached ``.dir`` manifest builds the graph (with issues) or raises
the engine's ``InputError``; never another exception, never a second.

Inputs are valid projects with one or two files mutated (structure or bytes) or
replaced by raw text, written into one repository folder per process that is
rewritten between inputs, and read by the builder's public entry, ``build_dvc``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import build_dvc
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring
from tests.fuzz.fuzzing import (
    EXAMPLES,
    check_input_error,
    counted,
    frozen_heap,
    fuzz_settings,
    shards,
)
from tests.fuzz.mutate import alias_bombs, mutate, mutate_bytes

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "example-ml"
MANIFEST_FILES = [
    {"md5": "0" * 32, "relpath": "a.png"},
    {"md5": "1" * 32, "relpath": "sub/b.png"},
]
RICH_PIPELINE = {
    "vars": ["params.yaml", {"models": ["a", "b"], "size": 3}],
    "stages": {
        "prepare": {
            "cmd": "python prepare.py ${prepare.seed}",
            "deps": ["src/prepare.py", "images"],
            "params": ["prepare.seed", {"params.yaml": ["prepare.split"]}],
            "outs": ["data/prepared", {"data/big.bin": {"cache": False, "persist": True}}],
        },
        "train": {
            "foreach": "${models}",
            "do": {
                "cmd": "python train.py ${item}",
                "deps": ["data/prepared"],
                "outs": ["models/${item}.pt"],
                "wdir": ".",
            },
        },
        "evaluate": {
            "matrix": {"model": ["a", "b"], "split": ["train", "test"]},
            "cmd": "python eval.py ${item.model} ${item.split}",
            "deps": ["models/${item.model}.pt"],
            "metrics": [{"metrics/${item.model}-${item.split}.json": {"cache": False}}],
            "plots": ["plots/${item.model}.csv"],
            "frozen": True,
            "meta": {"lifecycle": "evaluation"},
            "desc": "evaluate",
        },
    },
    "artifacts": {"model-a": {"path": "models/a.pt", "type": "model", "labels": ["x"]}},
    "metrics": ["metrics/summary.json"],
    "plots": [{"roc": {"x": "fpr", "y": {"plots/roc.csv": "tpr"}}}],
}
RICH_LOCK = {
    "schema": "2.0",
    "stages": {
        "prepare": {
            "cmd": "python prepare.py 42",
            "deps": [{"path": "src/prepare.py", "hash": "md5", "md5": "a" * 32, "size": 10}],
            "params": {"params.yaml": {"prepare.seed": 42, "prepare.split": 0.25}},
            "outs": [{"path": "data/prepared", "hash": "md5", "md5": "b" * 32 + ".dir"}],
        },
        "train@a": {
            "cmd": "python train.py a",
            "outs": [{"path": "models/a.pt", "md5": "c" * 32, "size": 3}],
        },
    },
}
V1_LOCK = {"prepare": {"cmd": "python prepare.py", "outs": [{"path": "x", "md5": "d" * 32}]}}
ADDED = {"outs": [{"md5": "manifest.dir", "size": 9, "nfiles": 2, "path": "images", "hash": "md5"}]}
IMPORTED = {
    "md5": "e" * 32,
    "frozen": True,
    "deps": [
        {
            "path": "data/x.csv",
            "repo": {"url": "https://example.com/repo.git", "rev_lock": "f" * 40},
        }
    ],
    "outs": [{"md5": "0" * 32, "size": 4, "hash": "md5", "path": "x.csv"}],
}
MEMORY = "/dev/shm"
CONFIG = b"[core]\n    no_scm = True\n[cache]\n    type = copy\n"
KEYS = (
    "stages", "vars", "foreach", "do", "matrix", "cmd", "deps", "outs", "params", "metrics",
    "plots", "wdir", "frozen", "meta", "desc", "always_changed", "cache", "persist", "push",
    "remote", "md5", "hash", "size", "nfiles", "path", "schema", "artifacts", "type", "labels",
    "isexec", "etag", "version_id", "repo", "url", "rev", "rev_lock", "files", "relpath",
    "checkpoint", "x", "y", "template",
)  # fmt: skip


def _seeds() -> list[dict[str, Any]]:
    """Valid projects: file name -> document (``manifest``: the cached ``.dir`` manifest)."""
    example = {
        name: yaml.safe_load((EXAMPLE / name).read_text(encoding="utf-8"))
        for name in ("dvc.yaml", "dvc.lock", "params.yaml")
    }
    params = example["params.yaml"]
    rich = {"dvc.yaml": RICH_PIPELINE, "dvc.lock": RICH_LOCK, "params.yaml": params}
    v1 = {"dvc.yaml": example["dvc.yaml"], "dvc.lock": V1_LOCK, "params.yaml": params}
    data = {"images.dvc": ADDED, "x.csv.dvc": IMPORTED, "manifest": MANIFEST_FILES}
    return [{**seed, **data} for seed in (example, rich, v1)]


SEEDS = _seeds()
FILES = ("dvc.yaml", "dvc.lock", "params.yaml", "images.dvc", "x.csv.dvc", "manifest", "config")
CHOSEN = st.lists(st.sampled_from(FILES), min_size=1, max_size=2)
HOW = st.sampled_from(("structure", "structure", "bytes", "raw", "missing"))


@functools.cache
def _seed_files(index: int) -> dict[str, bytes | None]:
    """A seed project's files as written, serialised once."""
    files = {name: _dump(name, document) for name, document in SEEDS[index].items()}
    return {**files, "config": CONFIG}


@st.composite
def projects(draw: st.DrawFn) -> dict[str, bytes | None]:
    """A seed project with one or two of its files mutated, raw, or missing."""
    data = draw(st.data())
    index = data.draw(st.sampled_from(range(len(SEEDS))), label="seed")
    seed = SEEDS[index]
    files = dict(_seed_files(index))
    for name in data.draw(CHOSEN, label="files"):
        how = data.draw(HOW)
        if how == "structure" and name != "config":
            files[name] = _dump(name, mutate(data, seed[name], KEYS))
        elif how == "raw":
            files[name] = data.draw(RAW, label="raw")
        elif how == "missing":
            files[name] = None
        else:
            files[name] = mutate_bytes(data, files[name] or b"")
    return files


RAW = st.binary(max_size=200) | alias_bombs


def _dump(name: str, document: Any) -> bytes:
    if name == "manifest":
        return json.dumps(document, default=str).encode()
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()


class Repository:
    """One DVC repository folder for this process, rewritten for every input.

    It is in memory when the system has a memory folder, and so are DVC's scratch
    files while an input is read: reading then waits for no disk.
    """

    def __init__(self) -> None:
        self.scratch = MEMORY if os.path.isdir(MEMORY) else None
        self.root = Path(tempfile.mkdtemp(prefix="mlpolicy-fuzz-dvc-", dir=self.scratch))
        (self.root / ".dvc").mkdir()
        self.written: dict[str, bytes | None] = {}  # what the folder holds now

    @contextmanager
    def scratch_files(self) -> Iterator[None]:
        """Temporary files made inside go beside the repository folder."""
        saved, tempfile.tempdir = tempfile.tempdir, self.scratch or tempfile.tempdir
        try:
            yield
        finally:
            tempfile.tempdir = saved

    def write(self, files: dict[str, bytes | None]) -> None:
        """Make the folder hold ``files`` (None: absent); a file already as wanted is kept."""
        files = dict(files)
        manifest = files.pop("manifest", None)
        if manifest != self.written.get("manifest"):
            self._write_manifest(manifest)
        if manifest is not None:  # the .dvc file names the manifest by its digest
            digest = hashlib.md5(manifest, usedforsecurity=False).hexdigest()
            added = files.get("images.dvc")
            if added:
                files["images.dvc"] = added.replace(b"manifest.dir", f"{digest}.dir".encode())
        for name, content in files.items():
            if name in self.written and self.written[name] == content:
                continue
            path = self.root / (".dvc/config" if name == "config" else name)
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)
            self.written[name] = content

    def _write_manifest(self, manifest: bytes | None) -> None:
        shutil.rmtree(self.root / ".dvc" / "cache", ignore_errors=True)
        self.written["manifest"] = manifest
        if manifest is not None:
            digest = hashlib.md5(manifest, usedforsecurity=False).hexdigest()
            folder = self.root / ".dvc" / "cache" / "files" / "md5" / digest[:2]
            folder.mkdir(parents=True)
            (folder / f"{digest[2:]}.dir").write_bytes(manifest)


@functools.cache
def repository() -> Repository:
    """The process's repository, made on first use (so collecting the suite makes none)."""
    return Repository()


def read(files: dict[str, bytes | None]) -> None:
    """The property: the graph is built, or an InputError names where it went wrong."""
    here = repository()
    here.write(files)
    context = BuildContext(here.root, Keyring({}), hash_cache=False)
    try:
        with here.scratch_files():
            build_dvc(ProvenanceGraph(str(here.root)), context)
    except InputError as error:
        check_input_error(error)


check_dvc = counted("dvc")(read)


@pytest.fixture(scope="module")
def loaded() -> Iterator[None]:
    """DVC imported (by reading a valid project), then the heap frozen while the target runs."""
    read(_seed_files(0))
    with frozen_heap():
        yield


@pytest.mark.slow  # DVC's loader reads each input in tens of milliseconds
@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize("shard", shards(EXAMPLES))
@fuzz_settings(EXAMPLES)
@given(projects())
def test_any_dvc_project_builds_or_gives_an_input_error(
    shard: int, files: dict[str, bytes | None]
) -> None:
    check_dvc(files)
