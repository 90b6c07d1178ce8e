"""Builder for the workspace: the real digests of the artifacts that exist in the repository.

Every file is read once per run (a file reached through several artifacts is
hashed once), in 4 MiB chunks, feeding sha256 and md5 from the same read; files
are hashed in parallel threads (hashlib releases the GIL on large buffers).

A directory artifact gets a :class:`WorkspaceFile` digested over a manifest of
the files under it, sorted by their posix path relative to the directory:

* ``sha256`` is the sha256 of ``json.dumps([{"relpath": p, "sha256": h}, ...],
  sort_keys=True)`` (UTF-8);
* ``md5`` is DVC's directory hash, so it compares directly with the ``md5`` of a
  directory output in ``dvc.lock``: the md5 of dvc-data's serialisation of the
  files' md5s (``json.dumps([{"md5": h, "relpath": p}, ...], sort_keys=True)``)
  followed by ``.dir`` (see :mod:`.dvcdir`);
* ``size`` is the total size of those files.

Directories are walked as DVC walks them: what DVC ignores (``.dvcignore``,
``.git``, nested DVC projects; see :mod:`.dvcdir`) is left out, symlinked files
are followed, symlinked directories are not entered (so their files are not in
the manifest).
Nothing outside the repository is read: an artifact or an entry of a directory
that resolves (through a symlink) outside the root is a ``path-escape`` issue.
Missing artifacts keep ``workspace`` None. Only regular files are read.

Unless disabled (``BuildContext.hash_cache``), digests are remembered in a
persistent cache outside the repository (:mod:`.hashcache`), keyed by path,
size, mtime, inode (and device and ctime): an unchanged re-run reads no bytes.
A test may pass its own :data:`Hasher`, which is then used without the cache.
While hashing takes long, a progress line is drawn on a terminal's stderr
(:mod:`.progress`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policy_engine import inputs
from policy_engine.graph.builders.dvcdir import DvcIgnores, IgnoreFilter, tree_md5
from policy_engine.graph.builders.hashcache import FileKey, HashCache
from policy_engine.graph.builders.progress import Progress
from policy_engine.graph.model import Evidence, Issue, ProvenanceGraph, WorkspaceFile

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext

CHUNK_BYTES = 4 * 1024 * 1024  # large reads: fewer system calls, hashed without the GIL
Hasher = Callable[[str], WorkspaceFile]
"""Hashes one regular file (an absolute, resolved path); may raise ``OSError``."""


@dataclass(frozen=True)
class DirectoryPlan:
    """The files under a directory artifact: (relative posix path, resolved path) pairs."""

    entries: tuple[tuple[str, str], ...]


Plan = str | DirectoryPlan  # a resolved file path, or a directory's files


def hash_file(path: str) -> WorkspaceFile:
    """Return the sha256, md5 and size of the regular file at ``path``, read once.

    Raises ``OSError`` when the file cannot be opened or is not a regular file
    (a FIFO or device is never read; a final symlink is not followed).
    """
    return hash_file_keyed(path)[0]


def hash_file_keyed(path: str) -> tuple[WorkspaceFile, FileKey | None]:
    """As :func:`hash_file`, with the file's key when it did not change while being read."""
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with inputs.open_binary(path, follow=False) as handle:
        fd = handle.fileno()
        before = os.fstat(fd)
        while count := handle.readinto(buffer):
            chunk = view[:count]
            sha256.update(chunk)
            md5.update(chunk)
            size += count
        key = FileKey.of(before)
        stable = key == FileKey.of(os.fstat(fd)) and key.size == size
    return WorkspaceFile(sha256.hexdigest(), md5.hexdigest(), size), key if stable else None


def build_workspace(
    graph: ProvenanceGraph, context: BuildContext, hasher: Hasher | None = None
) -> None:
    """Set the workspace digests of every artifact of ``graph`` that exists under the root.

    With no ``hasher``, files are hashed by :func:`hash_file` through the
    persistent cache (unless ``context.hash_cache`` is off).
    """
    root = os.path.realpath(context.root)
    ignores = DvcIgnores(root)
    stats = Stats()
    plans: dict[str, Plan] = {}
    for artifact in sorted(graph.artifacts(), key=lambda a: a.path):
        plan = plan_artifact(graph, root, artifact.path, ignores, stats)
        if plan is not None:
            plans[artifact.path] = plan
    cache = HashCache.open(context.root) if hasher is None and context.hash_cache else None
    try:
        files = _files_of(plans.values())
        digests = hash_files(
            files, hasher or hash_file, cache=cache, progress=context.progress, known=stats.keys
        )
    finally:
        if cache is not None:
            cache.close()
    for path, plan in plans.items():
        graph.set_workspace(path, _assemble(graph, path, plan, digests))


class Stats:
    """Artifacts resolved with one ``lstat`` each: their folders' real paths, files' keys."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}
        self.keys: dict[str, FileKey] = {}  # by resolved path, for the hash cache

    def resolve(self, root: str, path: str) -> tuple[str, os.stat_result | None]:
        """(resolved path, its status or None when missing) of repository ``path``.

        Resolved as ``os.path.realpath`` does; each folder is resolved once.
        """
        folder, name = os.path.split(os.path.join(root, path))
        real_folder = self.folders.get(folder)
        if real_folder is None:
            real_folder = self.folders[folder] = os.path.realpath(folder)
        candidate = os.path.join(real_folder, name)
        try:
            info = os.lstat(candidate)
        except OSError:
            return candidate, None
        if not stat.S_ISLNK(info.st_mode):
            return candidate, info
        real = os.path.realpath(candidate)
        try:
            return real, os.stat(real)
        except OSError:
            return real, None


def plan_artifact(
    graph: ProvenanceGraph,
    root: str,
    path: str,
    ignores: DvcIgnores | None = None,
    stats: Stats | None = None,
) -> Plan | None:
    """Resolve one artifact: its file, its directory's files, or None (missing or escaping).

    ``ignores`` (made for ``root`` when None) decides which files a directory
    holds; ``stats`` (a new one when None) keeps the files' keys.
    """
    if path == ".":
        return None  # the repository itself is not an artifact we hash
    stats = stats or Stats()
    real, info = stats.resolve(root, path)
    if not _inside(root, real):
        _escape(graph, path, path, real)
        return None
    if info is None:
        return None
    if stat.S_ISREG(info.st_mode):
        stats.keys[real] = FileKey.of(info)
        return real
    if not stat.S_ISDIR(info.st_mode):
        return None
    ignore = (ignores or DvcIgnores(root)).of(real)
    try:
        return DirectoryPlan(tuple(_directory_files(graph, root, path, real, ignore)))
    except OSError as exc:
        _unreadable(graph, path, path, exc)
        return None


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _escape(graph: ProvenanceGraph, subject: str, entry: str, target: str) -> None:
    graph.issues.append(
        Issue(
            "path-escape",
            subject,
            f"`{entry}` resolves outside the repository through a symlink; it was not read",
            (Evidence("path", entry), Evidence("resolves to", target)),
        )
    )


def _directory_files(
    graph: ProvenanceGraph, root: str, artifact: str, real_dir: str, ignore: IgnoreFilter | None
) -> Iterator[tuple[str, str]]:
    """Walk a directory like DVC does: (path relative to it, resolved path) of each file.

    Entries ``ignore`` drops are left out; symlinked files are followed when
    they stay inside the root; symlinked directories are not entered (as
    ``os.walk`` does, so no cycles); FIFOs, sockets and devices are skipped.
    """
    stack: list[tuple[str, str]] = [(real_dir, "")]
    while stack:
        directory, prefix = stack.pop()
        for entry in _listing(directory, ignore):
            relpath = f"{prefix}{entry.name}"
            real, kind = _classify(root, entry)
            if kind == "escape":
                _escape(graph, artifact, f"{artifact}/{relpath}", real)
            elif kind == "dir":
                stack.append((real, f"{relpath}/"))
            elif kind == "file":
                yield relpath, real


def _listing(directory: str, ignore: IgnoreFilter | None) -> list[os.DirEntry[str]]:
    """The entries of ``directory`` sorted by name, less those ``ignore`` drops.

    ``ignore`` sees the names as ``os.walk`` lists them (a symlink to a folder is a folder).
    """
    with os.scandir(directory) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    if ignore is None:
        return entries
    folders = [e.name for e in entries if e.is_dir()]
    files = [e.name for e in entries if not e.is_dir()]
    kept_folders, kept_files = ignore(directory, folders, files)
    kept = {*kept_folders, *kept_files}
    return [e for e in entries if e.name in kept]


def _classify(root: str, entry: os.DirEntry[str]) -> tuple[str, str]:
    """(resolved path, kind) of a directory entry; kind is file, dir, escape or other."""
    if not entry.is_symlink():
        kind = "dir" if entry.is_dir() else "file" if entry.is_file() else "other"
        return entry.path, kind
    real = os.path.realpath(entry.path)
    if not _inside(root, real):
        return real, "escape"
    return real, "file" if os.path.isfile(real) else "other"


def _files_of(plans: Iterable[Plan]) -> list[str]:
    files: dict[str, None] = {}
    for plan in plans:
        if isinstance(plan, DirectoryPlan):
            files.update((real, None) for _, real in plan.entries)
        else:
            files[plan] = None
    return list(files)


def hash_files(
    paths: Iterable[str],
    hasher: Hasher = hash_file,
    workers: int | None = None,
    cache: HashCache | None = None,
    progress: bool = False,
    known: dict[str, FileKey] | None = None,
) -> dict[str, WorkspaceFile | OSError]:
    """Hash each distinct path once, in parallel; an unreadable file maps to its ``OSError``.

    With a ``cache``, files whose key is unchanged are not read, and the others
    are hashed with :func:`hash_file_keyed` (not ``hasher``) and remembered.
    ``progress`` allows a progress line on a terminal (see :mod:`.progress`).
    ``known`` are keys of some of the files already stat-ed (not stat-ed again).
    """
    unique = list(dict.fromkeys(paths))
    keys = _keys(unique, known or {}) if cache is not None or progress else {}
    done: dict[str, WorkspaceFile | OSError] = dict(cache.hits(keys)) if cache else {}
    todo = [p for p in unique if p not in done]
    total = sum(keys[p].size for p in todo if p in keys)
    shown = Progress("hashing", len(todo), total) if progress else None
    with shown or contextlib.nullcontext():
        done.update(_hash_all(todo, hasher, cache, shown, workers))
    if cache is not None:
        cache.commit()
    return {path: done[path] for path in unique}


def _keys(paths: list[str], known: dict[str, FileKey]) -> dict[str, FileKey]:
    keys: dict[str, FileKey] = {}
    for path in paths:
        if path in known:
            keys[path] = known[path]
            continue
        try:
            keys[path] = FileKey.of(os.stat(path))
        except OSError:
            continue  # hashing it will report the error
    return keys


def _hash_all(
    paths: list[str],
    hasher: Hasher,
    cache: HashCache | None,
    progress: Progress | None,
    workers: int | None,
) -> dict[str, WorkspaceFile | OSError]:
    def one(path: str) -> WorkspaceFile | OSError:
        try:
            if cache is None:
                result = hasher(path)
            else:
                result, key = hash_file_keyed(path)
                if key is not None:
                    cache.remember(path, key, result)
        except OSError as exc:
            return exc
        if progress is not None:
            progress.advance(result.size)
        return result

    if len(paths) <= 1:
        return {path: one(path) for path in paths}
    with ThreadPoolExecutor(max_workers=workers or min(32, (os.cpu_count() or 1) + 4)) as pool:
        return dict(zip(paths, pool.map(one, paths), strict=True))


def _assemble(
    graph: ProvenanceGraph, path: str, plan: Plan, digests: dict[str, WorkspaceFile | OSError]
) -> WorkspaceFile | None:
    if not isinstance(plan, DirectoryPlan):
        return _readable(graph, path, path, digests[plan])
    files: list[tuple[str, WorkspaceFile]] = []
    for relpath, real in plan.entries:
        digest = _readable(graph, path, f"{path}/{relpath}", digests[real])
        if digest is None:
            return None  # a directory with an unreadable file has no known digest
        files.append((relpath, digest))
    return directory_digest(files)


def _readable(
    graph: ProvenanceGraph, subject: str, path: str, result: WorkspaceFile | OSError
) -> WorkspaceFile | None:
    if isinstance(result, WorkspaceFile):
        return result
    _unreadable(graph, subject, path, result)
    return None


def _unreadable(graph: ProvenanceGraph, subject: str, path: str, error: OSError) -> None:
    message = f"`{path}` could not be read: {error.strerror or error}"
    graph.issues.append(Issue("unreadable-file", subject, message, (Evidence("path", path),)))


def directory_digest(files: Iterable[tuple[str, WorkspaceFile]]) -> WorkspaceFile:
    """Digest a directory from its files' (relative posix path, digests); see the module doc."""
    ordered = sorted(files, key=lambda item: item[0])
    sha_manifest = [{"relpath": rel, "sha256": f.sha256} for rel, f in ordered]
    sha256 = hashlib.sha256(json.dumps(sha_manifest, sort_keys=True).encode("utf-8")).hexdigest()
    md5 = tree_md5((rel, f.md5) for rel, f in ordered)
    return WorkspaceFile(sha256, md5, sum(f.size for _, f in ordered))
