"""The files of a directory output: its ``.dir`` manifest, from the lock or the DVC cache.

DVC records a directory output as one digest, ``<md5>.dir``: the md5 of a JSON
manifest listing each file's ``relpath`` and ``md5``. DVC keeps that manifest
in its cache, where the cache's own ``oid_to_path`` puts it:
``<cache>/files/md5/xx/rest.dir`` for DVC 3 digests (``md5``),
``<cache>/xx/rest.dir`` for DVC 2 ones (``md5-dos2unix``), the cache being the
project's (``.dvc/cache``, or where its config puts it). A lock of a
cloud-versioned output lists the files itself (``files:``).

The cache is not trusted: a manifest counts only if its bytes hash to the
digest the lock or ``.dvc`` file recorded, and only its paths that stay inside
the directory are kept (one leaving it is a ``path-escape`` issue). A manifest
missing from the cache is normal (data not
pulled): the directory then has no per-file facts. Reading is bounded in
bytes and entries; a manifest over the bounds, corrupt, or not matching its
digest is a ``dir-manifest`` issue.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from policy_engine.graph.builders.dvc.caches import DvcCaches
from policy_engine.graph.model import Evidence, Issue, ProvenanceGraph, SourceRef

if TYPE_CHECKING:
    from dvc.output import Output

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_MANIFEST_ENTRIES = 100_000
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

Entries = list[tuple[str, str]]  # (repository path of the file, its digest)


class ManifestError(ValueError):
    """A manifest that cannot be used, and why."""


class Manifests:
    """Reads the manifests of one project's directory outputs."""

    def __init__(self, caches: DvcCaches, graph: ProvenanceGraph) -> None:
        self.graph = graph
        self._caches = caches

    def files(self, out: Output, path: str, declared: SourceRef) -> tuple[str, Entries] | None:
        """(hash name, files) of directory output ``out`` at repository ``path``, or None.

        None when ``out`` is not a directory with a recorded digest or its
        manifest is not at hand; an unusable manifest is also an issue.
        """
        info = out.hash_info
        if not (info and isinstance(info.value, str) and info.isdir):  # a value may be any YAML
            return None
        try:
            raw = out.files if out.files else self._read(info.name, info.value)
            if raw is None:
                return None
            return info.name, self._confined(_entries(raw, path, info.name), path, declared)
        except ManifestError as exc:
            evidence = (Evidence("digest", info.value, str(declared)),)
            message = f"the manifest of directory `{path}` cannot be used: {exc}"
            self.graph.issues.append(Issue("dir-manifest", path, message, evidence))
            return None

    def _confined(
        self, entries: Iterator[tuple[str, str, str]], directory: str, declared: SourceRef
    ) -> Entries:
        """The entries inside ``directory``; each one leaving it is a ``path-escape`` issue."""
        kept: Entries = []
        for relpath, path, digest in entries:
            if path.startswith(directory + "/") and not posixpath.isabs(relpath):
                kept.append((path, digest))
                continue
            message = f"the manifest of directory `{directory}` lists `{relpath}`, outside it"
            evidence = (Evidence("declared in", str(declared)),)
            self.graph.issues.append(Issue("path-escape", relpath, message, evidence))
        return kept

    def _read(self, hash_name: str, value: str) -> Any:
        """The parsed manifest of ``value`` from the cache, or None when it is not there."""
        location = self._caches.object_path(hash_name, value)
        if location is None:
            return None
        data = _read_bounded(location)
        if data is None:
            return None
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != value.removesuffix(".dir"):
            raise ManifestError(f"the cached manifest `{location}` does not hash to `{value}`")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ManifestError(f"the cached manifest `{location}` is not JSON: {exc}") from exc


def _read_bounded(location: str) -> bytes | None:
    """The bytes of a regular file, at most MAX_MANIFEST_BYTES; None when it does not exist."""
    try:
        fd = os.open(location, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ManifestError(f"`{location}` cannot be read: {exc.strerror or exc}") from exc
    with open(fd, "rb", closefd=True) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ManifestError(f"`{location}` is not a regular file")
        if info.st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"`{location}` is larger than {MAX_MANIFEST_BYTES} bytes")
        return handle.read(MAX_MANIFEST_BYTES + 1)


def _entries(raw: Any, directory: str, hash_name: str) -> Iterator[tuple[str, str, str]]:
    """(relpath, repository path, digest) of each entry of a manifest of ``directory``."""
    if not isinstance(raw, list):
        raise ManifestError("it is not a list of files")
    if len(raw) > MAX_MANIFEST_ENTRIES:
        raise ManifestError(f"it lists more than {MAX_MANIFEST_ENTRIES} files")
    for entry in raw:
        relpath = entry.get("relpath") if isinstance(entry, dict) else None
        digest = entry.get(hash_name.split("-")[0]) if isinstance(entry, dict) else None
        if not (isinstance(relpath, str) and isinstance(digest, str)):
            raise ManifestError(f"an entry has no `relpath` and `md5`: {str(entry)[:80]}")
        path = posixpath.normpath(posixpath.join(directory, relpath.replace("\\", "/")))
        yield relpath, path, digest
