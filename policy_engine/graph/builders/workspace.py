"""Builder for the workspace: the real digests of the artifacts that exist in the repository.

Every file is read once per run (a file reached through several artifacts is
hashed once), in 1 MiB chunks into a buffer reused by each thread (a file of
less than a chunk by one read); files are hashed by one thread per CPU (hashlib
releases the GIL on large buffers), the largest first, each large file a task of
its own and small ones :data:`SMALL_BATCH` to a task. Reading a small file is
mostly Python, which holds the interpreter: from :data:`FORKED_MIN_BATCHES` such
tasks on, the last half of them is hashed by a forked child meanwhile
(:mod:`policy_engine.forked`; what it fails to send is hashed here), the cache
written here. sha256 and md5 are chains
over a file's blocks, so one file's digest is not split across cores. A file's md5
is fed from the same read only where a source records an md5 to compare with it
(``dvc.lock``, a ``.dvc`` file, a ``.dir`` manifest, a link); every other md5 is
pending, computed for all such files in one more read the first time one is asked
for (:class:`LazyMd5`).

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
size, mtime, inode (and device and ctime): an unchanged re-run reads no bytes,
takes one status of each file (a directory's files in its walk), reads the
cache's rows for the repository in one query and writes nothing. A folder
whose files are exactly its cached row's, unchanged, is digested from that row
at once, with no object made per file (:class:`CachedFolders`).
A test may pass its own :data:`Hasher`, which is then used without the cache.
While hashing takes long, a progress line is drawn on a terminal's stderr
(:mod:`.progress`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import operator
import os
import stat
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from policy_engine import forked, inputs
from policy_engine.graph.builders import cpu_count
from policy_engine.graph.builders.dvcdir import DvcIgnores, IgnoreFilter, tree_md5
from policy_engine.graph.builders.hashcache import FileDigests, FileKey, HashCache, key_fields
from policy_engine.graph.builders.listing import KEY as LISTINGS
from policy_engine.graph.builders.listing import Entries, Listings, artifact_paths, by_folder
from policy_engine.graph.builders.progress import Progress
from policy_engine.graph.collector import paused_gc
from policy_engine.graph.model import DigestClaim, Evidence, Issue, ProvenanceGraph, WorkspaceFile

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext

CHUNK_BYTES = 1024 * 1024  # large reads hashed without the GIL, small enough to stay in cache
_BUFFERS = threading.local()
_json = json.encoder.encode_basestring_ascii  # json.dumps's (ensure_ascii) string encoder
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
    found = hash_file_keyed(path)[0]
    return WorkspaceFile(found.sha256, found.md5 or "", found.size)


def hash_file_keyed(path: str, md5: bool = True) -> tuple[FileDigests, FileKey | None]:
    """As :func:`hash_file` (md5 only when ``md5``), with the file's key when it did not
    change while being read."""
    fd, before = inputs.open_regular_status(path, follow=False)
    try:
        found = _read_digests(fd, before.st_size, md5)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    key = FileKey.of(before)
    stable = key.size == found.size and key == FileKey.of(after)
    return found, key if stable else None


def _read_digests(fd: int, size: int, md5: bool) -> FileDigests:
    """The digests of what ``fd`` reads to its end, a chunk at a time into this thread's
    buffer. A short read ending at the ``size`` the open file's status gave is its end
    (a file of less than a chunk is read by one call); any other read goes on to EOF."""
    buffer, view = _buffer()
    total = count = os.readv(fd, (buffer,))
    chunk = view[:count]
    sha256 = hashlib.sha256(chunk)
    md5sum = hashlib.md5(chunk, usedforsecurity=False) if md5 else None
    while count and (count == CHUNK_BYTES or total != size):
        count = os.readv(fd, (buffer,))
        chunk = view[:count]
        sha256.update(chunk)
        if md5sum is not None:
            md5sum.update(chunk)
        total += count
    found = (sha256.hexdigest(), md5sum.hexdigest() if md5sum else None, total)
    return tuple.__new__(FileDigests, found)  # the fields in order, without NamedTuple's __new__


def _buffer() -> tuple[bytearray, memoryview]:
    """This thread's read buffer and a view of it (made once per thread, reused for every
    file it reads)."""
    found: tuple[bytearray, memoryview] | None = getattr(_BUFFERS, "buffer", None)
    if found is None or len(found[0]) != CHUNK_BYTES:
        buffer = bytearray(CHUNK_BYTES)
        found = _BUFFERS.buffer = (buffer, memoryview(buffer))
    return found


def build_workspace(
    graph: ProvenanceGraph, context: BuildContext, hasher: Hasher | None = None
) -> None:
    """Set the workspace digests of every artifact of ``graph`` that exists under the root.

    With no ``hasher``, files are hashed by :func:`hash_file_keyed` through the
    persistent cache (unless ``context.hash_cache`` is off), with their md5 only
    where a source records one (:func:`md5_wanted`); the others' is :class:`LazyMd5`.
    """
    with paused_gc():  # plans, keys and rows hold no cycles; the digests stay in the graph
        _build(graph, context, hasher)


def _build(graph: ProvenanceGraph, context: BuildContext, hasher: Hasher | None) -> None:
    root = os.path.realpath(context.root)
    stats = Stats(context.deferred.pop(LISTINGS, None), root)  # the model-signature finder's
    plans: dict[str, Plan | WorkspaceFile] = {}
    cached = hasher is None and context.hash_cache
    lazy = LazyMd5(functools.partial(md5_wanted, graph, plans), context.root, cached)
    cache = HashCache.open(context.root) if cached else None
    try:
        folders = CachedFolders(cache, root, lazy) if cache is not None else None
        plans.update(_plans(graph, root, artifact_paths(graph, context), stats, folders))
        digests = _digests(
            _files_of(plans.values()),
            hasher,
            cache=cache,
            progress=context.progress,
            known=stats.keys,
            lazy=lazy,
            root=root,
        )
    finally:
        if cache is not None:
            cache.close()
    graph.set_workspaces(_workspaces(graph, plans, digests, lazy))


def _plans(
    graph: ProvenanceGraph,
    root: str,
    paths: list[str],
    stats: Stats,
    cached: CachedFolders | None,
) -> dict[str, Plan | WorkspaceFile]:
    """The plan of each artifact of ``paths`` (sorted) that exists (or its digests, from
    ``cached``), by path."""
    ignores = DvcIgnores(root)
    plans: dict[str, Plan | WorkspaceFile] = {}
    if cached is not None:
        plans.update(cached.files(graph, stats, paths))
        paths = [path for path in paths if path not in plans] if plans else paths
    listed = stats.listed_files(root, paths)
    for path in paths:
        plan = listed.get(path) or _plan(graph, root, path, ignores, stats, cached)
        if plan is not None:
            plans[path] = plan
    return plans


class CachedFolders:
    """Artifacts digested from the hash cache a folder at a time, no object made per file.

    A folder artifact whose entries (as DVC keeps them) are all regular files, or
    the file artifacts of one folder, that are exactly the files of the folder's
    cached row, in order and with their keys unchanged (one comparison of their
    packed keys), get their digests from that row. Any others are walked and
    their files hashed or looked up one by one; so are those some source records
    an md5 of (``md5_claimed``) while the row lacks one of their files'.
    """

    def __init__(self, cache: HashCache, root: str, lazy: LazyMd5) -> None:
        self._cache, self._root, self._lazy = cache, root, lazy

    def files(
        self, graph: ProvenanceGraph, stats: Stats, paths: list[str]
    ) -> dict[str, WorkspaceFile]:
        """The digests of the file artifacts of ``paths`` (sorted) known at once: where the
        artifacts of a folder are exactly its cached row's files, all listed regular files
        (their status taken from the listing, as :meth:`Stats.listed_files` takes it)."""
        known: dict[str, WorkspaceFile] = {}
        for folder, names in by_folder(paths):
            entries = stats.listed_folder(self._root, folder) if folder else None
            found = self._folder_files(graph, folder, names, entries) if entries else None
            if found is not None:
                known.update(found)
        return known

    def _folder_files(
        self, graph: ProvenanceGraph, folder: str, names: list[str], listing: Entries
    ) -> Iterator[tuple[str, WorkspaceFile]] | None:
        """(path, digests) of the artifacts ``names`` of repository ``folder``, or None."""
        found = list(map(listing.get, names))
        if None in found:
            return None
        entries = cast(list[os.DirEntry[str]], found)
        paths = [f"{folder}/{name}" for name in names]
        known = self._usable(graph, paths, os.path.dirname(entries[0].path), names, entries)
        if known is None:
            return None
        reals, shas, md5s, sizes = known
        md5 = cast(list[str | Callable[[], str]], md5s)  # when none is pending, as they are
        if None in md5s:  # pending, computed when first asked
            lazy = self._lazy.md5
            md5 = [m or functools.partial(lazy, p) for p, m in zip(reals, md5s, strict=True)]
        return zip(paths, map(WorkspaceFile.of, shas, md5, sizes), strict=True)

    def _usable(
        self,
        graph: ProvenanceGraph,
        paths: list[str],
        real: str,
        names: list[str],
        entries: list[os.DirEntry[str]],
    ) -> Known | None:
        """What :meth:`_known` gives of the regular files ``entries`` (named ``names``, in
        the folder ``real``) of the artifacts ``paths``, when their md5s may be left pending
        (:meth:`_md5s_pending`); None when any of that fails."""
        if not all([e.is_file(follow_symlinks=False) for e in entries]):
            return None
        known = self._known(real, names, entries)
        return known if known is not None and self._md5s_pending(graph, paths, known) else None

    def _known(self, real: str, names: list[str], entries: list[os.DirEntry[str]]) -> Known | None:
        """(resolved paths, sha256s, md5s, sizes) of the files ``names`` of the folder
        ``real``, listed as ``entries``, when exactly its cached row's and unchanged."""
        row = self._cache.folder(real, self._root)
        if row is None:
            return None
        try:
            keys = list(itertools.chain.from_iterable(map(key_fields, _statuses(entries))))
        except OSError:
            return None  # a file gone: the walk reports it
        found = row.hex_digests() if row.same_files(names, keys) else None
        if found is None:
            return None
        return list(map(_path, entries)), found[0], found[1], keys[::5]

    def digests(
        self, graph: ProvenanceGraph, path: str, real: str, entries: list[os.DirEntry[str]]
    ) -> WorkspaceFile | None:
        """The digests of artifact ``path``, the folder ``real`` listed as ``entries``; None
        when they are not all known from its row."""
        names = list(map(_name, entries))
        known = self._usable(graph, [path], real, names, entries) if entries else None
        if known is None:
            return None
        reals, shas, md5s, sizes = known
        sha256 = _manifest_sha256(zip(names, shas, strict=True))
        md5 = functools.partial(_row_tree_md5, names, reals, md5s, self._lazy)
        return WorkspaceFile.of(sha256, md5, sum(sizes))

    def _md5s_pending(self, graph: ProvenanceGraph, paths: list[str], known: Known) -> bool:
        """Whether the md5s a row lacks may be left pending (:class:`LazyMd5`): when no
        source records an md5 of the artifacts ``paths`` (else they are read again)."""
        reals, shas, md5s, _ = known
        if None not in md5s:
            return True
        if any(_md5_claimed(graph.claims(path)) for path in paths):
            return False
        self._lazy.defer({p: sha for p, sha, md5 in zip(reals, shas, md5s, strict=True) if not md5})
        return True


Known = tuple[list[str], list[str], list[str | None], list[int]]
"""The files of a folder known from the cache: resolved paths, sha256s, md5s, sizes."""


def _statuses(entries: list[os.DirEntry[str]]) -> list[os.stat_result]:
    """Each entry's own status (a symlink's, not its target's); raises if one is gone."""
    return [entry.stat(follow_symlinks=False) for entry in entries]


def _row_tree_md5(names: list[str], reals: list[str], md5s: list[str | None], lazy: LazyMd5) -> str:
    """DVC's digest of a folder from its cached md5s, the pending ones computed now."""
    return tree_md5(
        zip(names, [md5 or lazy.md5(p) for p, md5 in zip(reals, md5s, strict=True)], strict=True)
    )


def md5_wanted(graph: ProvenanceGraph, plans: Mapping[str, Plan | WorkspaceFile]) -> set[str]:
    """The files whose md5 a recorded digest is compared with: the files of each artifact
    some source (``dvc.lock``, a ``.dvc`` file, a ``.dir`` manifest, a link) records an
    md5 of; for a directory, all its files (DVC's ``.dir`` digest is over their md5s)."""
    wanted: set[str] = set()
    for path, claims in graph.artifact_claims():
        plan = plans.get(path) if claims else None
        if plan is None or isinstance(plan, WorkspaceFile) or not _md5_claimed(claims):
            continue  # (digests known at once have every md5 a source records)
        if isinstance(plan, DirectoryPlan):
            wanted.update(real for _, real in plan.entries)
        else:
            wanted.add(plan)
    return wanted


def _md5_claimed(claims: list[DigestClaim]) -> bool:
    return any(claim.algorithm.startswith("md5") for claim in claims)  # and md5-dos2unix


class LazyMd5:
    """Which files get their md5 in the first read, and the others' md5 when first asked.

    ``wanted`` are resolved paths hashed with their md5 in the same read as their
    sha256 (given as a function, it is called when first needed: a warm run whose
    cache knows every md5 never asks). The md5 of any other file is left pending;
    the first time one is asked for (a report showing every digest), those of all
    of them are computed together in one more parallel read (through the hash
    cache of ``root`` when ``cached``, which then remembers them). A file whose
    sha256 changed meanwhile gets an empty md5, which matches no recorded digest.
    """

    def __init__(
        self,
        wanted: Collection[str] | Callable[[], Collection[str]] | None = None,
        root: Path | None = None,
        cached: bool = False,
    ) -> None:
        self._wanted = wanted
        self._root, self._cached = root, cached
        self._pending: dict[str, str] = {}  # path -> the sha256 first read
        self._found: dict[str, str] | None = None
        self._lock = threading.Lock()

    def needs(self, path: str) -> bool:
        """Whether ``path``'s md5 is computed in its first read."""
        wanted = self.wanted()
        return wanted is None or path in wanted

    def wanted(self) -> Collection[str] | None:
        """The paths whose md5 is computed in their first read (None: every path)."""
        wanted = self._wanted
        if callable(wanted):
            with self._lock:  # hashing threads ask at once
                if callable(self._wanted):
                    self._wanted = self._wanted()
            wanted = self._wanted
        return wanted

    def defer(self, first: dict[str, str]) -> None:
        """Leave pending the md5 of each path of ``first`` (path -> the sha256 first read)."""
        self._pending.update(first)

    def pending(self, path: str, sha256: str) -> Callable[[], str]:
        """The md5 of ``path`` (first read with ``sha256``), computed when called."""
        self._pending[path] = sha256
        return functools.partial(self.md5, path)

    def md5(self, path: str) -> str:
        """The md5 of a pending file (all pending files are hashed on the first call)."""
        with self._lock:
            if self._found is None:
                self._found = self._compute()
        return self._found.get(path, "")

    def _compute(self) -> dict[str, str]:
        use = self._cached and self._root is not None
        cache = HashCache.open(self._root) if use and self._root is not None else None
        try:
            again = hash_files(list(self._pending), cache=cache)
        finally:
            if cache is not None:
                cache.close()
        return {
            path: found.md5
            for path, found in again.items()
            if isinstance(found, WorkspaceFile) and found.sha256 == self._pending[path]
        }


class Stats:
    """Artifacts resolved with one status each: their folders' real paths, files' keys.

    A file's status is taken from its folder's listing (:mod:`.listing`) when it
    is listed there, else by ``os.lstat``; either way it is taken once. Under
    ``root`` (resolved), whether a folder is a symlink is read from its parent's
    listing too (one listing of a parent of many folders, not a status of each).
    """

    def __init__(self, listings: Listings | None = None, root: str | None = None) -> None:
        self.folders: dict[str, str] = {}
        self.keys: dict[str, FileKey] = {}  # by resolved path, for the hash cache
        self.listings = listings or Listings()
        self._listed: dict[str, Entries | None] = {}  # by repository folder
        self._root = root

    def resolve(self, root: str, path: str) -> tuple[str, os.stat_result | None]:
        """(resolved path, its status or None when missing) of repository ``path``.

        Resolved as ``os.path.realpath`` does; each folder is resolved once.
        """
        folder, name = os.path.split(os.path.join(root, path))
        real_folder = self.real_folder(folder)
        inside = _inside(root, real_folder)  # a folder outside the root is never listed
        entry = self.listings.entry(real_folder, name) if inside else None
        candidate = entry.path if entry else os.path.join(real_folder, name)
        info = _lstat(entry, candidate)
        if info is None or not stat.S_ISLNK(info.st_mode):
            return candidate, info
        real = os.path.realpath(candidate)
        try:
            return real, os.stat(real)
        except OSError:
            return real, None

    def listed_file(self, root: str, path: str) -> str | None:
        """The resolved path of repository ``path`` when it is a regular file listed in a
        folder inside ``root`` (its key kept), as :func:`plan_artifact` plans it; else None
        (the caller plans it). A folder is resolved, confined and listed once."""
        return self.listed_files(root, (path,)).get(path)

    def listed_files(self, root: str, paths: Iterable[str]) -> dict[str, str]:
        """:meth:`listed_file` of each of ``paths``: path -> resolved path of those it
        answers, in one pass (the paths of one folder, given one after another, look
        their folder up once)."""
        found: dict[str, str] = {}
        keys, regular, new = self.keys, stat.S_ISREG, tuple.__new__
        last, get = None, _NOTHING.get
        for path in paths:
            if path[:1] == "/":
                continue  # never a normalised path: left to the general case
            folder, _, name = path.rpartition("/")
            if folder != last:
                last, get = folder, (self.listed_folder(root, folder) or _NOTHING).get
            entry = get(name)
            if entry is None or not entry.is_file(follow_symlinks=False):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if regular(info.st_mode):
                found[path] = real = entry.path
                keys[real] = new(FileKey, key_fields(info))  # FileKey.of, inline
        return found

    def listed_folder(self, root: str, folder: str) -> Entries | None:
        """The listing of repository ``folder`` (taken once) when it resolves inside ``root``."""
        listed = self._listed
        if folder not in listed:
            listed[folder] = self._folder_entries(root, folder)
        return listed[folder]

    def _folder_entries(self, root: str, folder: str) -> Entries | None:
        """The listing of repository ``folder`` when it resolves inside ``root``."""
        real = self.real_folder(os.path.join(root, folder) if folder else root)
        return self.listings.entries(real) if _inside(root, real) else None

    def real_folder(self, folder: str) -> str:
        """``os.path.realpath(folder)``, with one ``lstat`` for each folder not seen before."""
        unseen: list[tuple[str, str]] = []
        while folder not in self.folders:
            parent, name = os.path.split(folder)
            if name in ("", ".", "..") or parent == folder:
                self.folders[folder] = os.path.realpath(folder)
                break
            unseen.append((folder, name))
            folder = parent
        real = self.folders[folder]
        for path, name in reversed(unseen):
            candidate = os.path.join(real, name)
            real = os.path.realpath(candidate) if self._is_link(real, name) else candidate
            self.folders[path] = real
        return real

    def _is_link(self, folder: str, name: str) -> bool:
        """``os.path.islink`` of ``name`` in the resolved ``folder``: from the folder's
        listing when it is under the root and lists ``name``, else by ``os.lstat``."""
        root = self._root
        entry = self.listings.entry(folder, name) if root and _inside(root, folder) else None
        if entry is None:
            return os.path.islink(os.path.join(folder, name))
        try:
            return entry.is_symlink()
        except OSError:
            return False  # as os.path.islink answers a status it cannot take


_NOTHING: Entries = {}  # the entries of a folder that is not listed


def _lstat(entry: os.DirEntry[str] | None, path: str) -> os.stat_result | None:
    """``os.lstat(path)``, taken from ``entry`` (``path``'s) when listed; None when missing."""
    try:
        return entry.stat(follow_symlinks=False) if entry else os.lstat(path)
    except OSError:
        return None


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
    found = _plan(graph, root, path, ignores or DvcIgnores(root), stats or Stats(), None)
    return cast(Plan | None, found)  # with no cached folders, never digests


def _plan(
    graph: ProvenanceGraph,
    root: str,
    path: str,
    ignores: DvcIgnores,
    stats: Stats,
    cached: CachedFolders | None,
) -> Plan | WorkspaceFile | None:
    """:func:`plan_artifact`; or, for a folder of files unchanged since ``cached`` knew
    them, its digests at once."""
    if path == ".":
        return None  # the repository itself is not an artifact we hash
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
    ignore = ignores.of(real)
    try:
        entries = _listing(real, ignore)
        known = cached.digests(graph, path, real, entries) if cached is not None else None
        if known is not None:
            return known
        files = _directory_files(graph, root, path, real, ignore, stats.keys, entries)
        return DirectoryPlan(tuple(files))
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
    graph: ProvenanceGraph,
    root: str,
    artifact: str,
    real_dir: str,
    ignore: IgnoreFilter | None,
    keys: dict[str, FileKey],
    listed: list[os.DirEntry[str]] | None = None,
) -> list[tuple[str, str]]:
    """Walk a directory like DVC does: (path relative to it, resolved path) of each file.

    Entries ``ignore`` drops are left out; symlinked files are followed when
    they stay inside the root; symlinked directories are not entered (as
    ``os.walk`` does, so no cycles); FIFOs, sockets and devices are skipped.
    Each file's key (for the hash cache) is put in ``keys``, from the one
    status the walk takes of it. ``listed`` is ``real_dir``'s :func:`_listing` when taken.
    """
    files: list[tuple[str, str]] = []
    add, stack = files.append, [(real_dir, "")]
    key_of, new = FileKey.of, tuple.__new__
    while stack:
        directory, prefix = stack.pop()
        entries = listed if listed is not None and not prefix else _listing(directory, ignore)
        for entry in entries:
            if entry.is_file(follow_symlinks=False):  # the common case, at once
                real = entry.path
                try:  # FileKey.of, inline
                    keys[real] = new(FileKey, key_fields(entry.stat(follow_symlinks=False)))
                except OSError:
                    keys.pop(real, None)  # hashing it reports it
                add((prefix + entry.name, real))
                continue
            relpath = prefix + entry.name
            real, kind, info = _classify(root, entry)
            if kind == "file":
                if info is not None:
                    keys[real] = key_of(info)
                add((relpath, real))
            elif kind == "dir":
                stack.append((real, f"{relpath}/"))
            elif kind == "escape":
                _escape(graph, artifact, f"{artifact}/{relpath}", real)
    return files


def _listing(directory: str, ignore: IgnoreFilter | None) -> list[os.DirEntry[str]]:
    """The entries of ``directory`` sorted by name, less those ``ignore`` drops.

    ``ignore`` sees the names as ``os.walk`` lists them (a symlink to a folder is a folder).
    """
    with os.scandir(directory) as listing:
        entries = sorted(listing, key=_name)
    if ignore is None:
        return entries
    folders = [e.name for e in entries if e.is_dir()]
    files = [e.name for e in entries if not e.is_dir()]
    kept_folders, kept_files = ignore(directory, folders, files)
    kept = {*kept_folders, *kept_files}
    return [e for e in entries if e.name in kept]


_name, _path = operator.attrgetter("name"), operator.attrgetter("path")
_first, _second = operator.itemgetter(0), operator.itemgetter(1)


def _classify(root: str, entry: os.DirEntry[str]) -> tuple[str, str, os.stat_result | None]:
    """(resolved path, kind, status of a file) of a directory entry that is not a regular file.

    The kind is file (a symlink to one inside the root), dir, escape or other.
    """
    if not entry.is_symlink():
        return entry.path, "dir" if entry.is_dir() else "other", None
    real = os.path.realpath(entry.path)
    if not _inside(root, real):
        return real, "escape", None
    try:
        info = os.stat(real)
    except OSError:
        return real, "other", None
    return (real, "file", info) if stat.S_ISREG(info.st_mode) else (real, "other", None)


def _files_of(plans: Iterable[Plan | WorkspaceFile]) -> list[str]:
    files: dict[str, None] = {}
    for plan in plans:
        if isinstance(plan, DirectoryPlan):
            files.update(dict.fromkeys(map(_second, plan.entries)))
        elif isinstance(plan, str):
            files[plan] = None
    return list(files)


def hash_files(
    paths: Iterable[str],
    hasher: Hasher | None = None,
    workers: int | None = None,
    cache: HashCache | None = None,
    progress: bool = False,
    known: dict[str, FileKey] | None = None,
    lazy: LazyMd5 | None = None,
) -> dict[str, WorkspaceFile | OSError]:
    """Hash each distinct path once, in parallel; an unreadable file maps to its ``OSError``.

    Files are read by :func:`hash_file_keyed`, the largest first, by one thread
    per CPU unless ``workers`` says otherwise; ``hasher`` (a test's) replaces it
    when there is no ``cache``. With a ``cache``, files whose key is unchanged
    are not read, and the others are remembered. With ``lazy``, only the files
    it ``needs`` get their md5 in that read (see :class:`LazyMd5`); else all do.
    ``progress`` allows a progress line on a terminal (see :mod:`.progress`).
    ``known`` are keys of some of the files already stat-ed (not stat-ed again).
    """
    lazy = lazy or LazyMd5()
    found = _digests(paths, hasher, workers, cache, progress, known, lazy)
    return {path: _workspace_file(path, result, lazy) for path, result in found.items()}


def _digests(
    paths: Iterable[str],
    hasher: Hasher | None = None,
    workers: int | None = None,
    cache: HashCache | None = None,
    progress: bool = False,
    known: dict[str, FileKey] | None = None,
    lazy: LazyMd5 | None = None,
    root: str | None = None,
) -> dict[str, FileDigests | WorkspaceFile | OSError]:
    """As :func:`hash_files`, the digests as read or cached; a missing md5 is left to ``lazy``.

    ``root`` is the resolved folder most paths are under (the cache reads its rows at once).
    """
    unique = list(dict.fromkeys(paths))
    lazy = lazy or LazyMd5()
    keys = _keys(unique, known or {})
    hits = cache.hits(keys, root) if cache is not None else {}
    done: dict[str, FileDigests | WorkspaceFile | OSError] = dict(hits)
    wanted = lazy.wanted() if None in map(_second, hits.values()) else ()  # an md5 missing
    if wanted is None or wanted:  # a hit without the md5 its file needs is read again
        for path, found in hits.items():
            if found.md5 is None and (wanted is None or path in wanted):
                del done[path]
    todo = [] if len(done) == len(unique) else [path for path in unique if path not in done]
    if todo:
        todo.sort(key=lambda p: _size(keys, p), reverse=True)
        total = sum(_size(keys, p) for p in todo)
        shown = Progress("hashing", len(todo), total) if progress else None
        with shown or contextlib.nullcontext():
            hashed = _hash_all(todo, hasher, cache, shown, workers, lazy, keys)
        done.update(hashed)
        if cache is not None:
            cache.commit()
    lazy.defer(_without_md5(done))
    return done


def _without_md5(found: Mapping[str, object]) -> dict[str, str]:
    """path -> sha256 of the files of ``found`` read or cached without their md5."""
    return {p: f.sha256 for p, f in found.items() if type(f) is FileDigests and f.md5 is None}


def _size(keys: Mapping[str, FileKey], path: str) -> int:
    key = keys.get(path)
    return key.size if key is not None else 0


def _keys(paths: list[str], known: dict[str, FileKey]) -> dict[str, FileKey]:
    if len(known) == len(paths) and known.keys() == set(paths):
        return known  # every file stat-ed already (a build's plans): as they are
    keys = {path: known[path] for path in paths if path in known}
    for path in paths:
        if path in keys:
            continue
        try:
            keys[path] = FileKey.of(os.stat(path))
        except OSError:
            continue  # hashing it will report the error
    return keys


def _hash_all(
    paths: list[str],
    hasher: Hasher | None,
    cache: HashCache | None,
    progress: Progress | None,
    workers: int | None,
    lazy: LazyMd5,
    sizes: Mapping[str, FileKey],
) -> dict[str, FileDigests | WorkspaceFile | OSError]:
    """Hash ``paths`` (the largest first) by one thread per CPU unless ``workers`` says
    otherwise: a file of a chunk or more is one task, smaller ones (by their key in
    ``sizes``) go to a thread :data:`SMALL_BATCH` at a time."""
    hash_one = functools.partial(_hash_one, hasher if cache is None else None, lazy)
    batches = _batches(paths, sizes)
    task = functools.partial(_hash_batch, hash_one, cache, progress)
    half = _forked_half(batches, _first_small(paths, sizes), hash_one) if hasher is None else None
    if len(batches) <= 1:
        results = [task(batch) for batch in batches]
    else:
        with ThreadPoolExecutor(max_workers=workers or cpu_count()) as pool:
            results = list(pool.map(task, batches))
    if half is not None:
        results.extend(_halved(half, hash_one, cache, progress))
    return dict(zip(paths, itertools.chain.from_iterable(results), strict=True))


SMALL_BATCH = 256  # files of less than a chunk handed to a thread at once
FORKED_MIN_BATCHES = 40  # small files (batches) from which half go to a forked child

Half = tuple[list[list[str]], "forked.Child[list[list[Result]]]"]


def _forked_half(
    batches: list[list[str]], large: int, hash_one: Callable[[str], Result]
) -> Half | None:
    """The last half of the batches of small files (after the ``large`` files' tasks),
    taken out of ``batches`` and hashed by a forked child meanwhile, when there are at
    least :data:`FORKED_MIN_BATCHES` of them: reading a small file is mostly Python (it
    holds the interpreter), so threads hashing small files share one CPU."""
    small = len(batches) - large
    if small < FORKED_MIN_BATCHES:
        return None
    given = batches[len(batches) - small // 2 :]
    child = forked.start(lambda: [[hash_one(path) for path in batch] for batch in given])
    if child is None:
        return None
    del batches[len(batches) - len(given) :]
    return given, child


def _halved(
    half: Half,
    hash_one: Callable[[str], Result],
    cache: HashCache | None,
    progress: Progress | None,
) -> list[list[FileDigests | WorkspaceFile | OSError]]:
    """The results of the batches the child hashed (here, those it failed to send)."""
    given, child = half
    sent = child.collect()
    found = sent if sent is not None else [[hash_one(path) for path in batch] for batch in given]
    return [
        _kept(cache, progress, batch, results) for batch, results in zip(given, found, strict=True)
    ]


def _batches(paths: list[str], sizes: Mapping[str, FileKey]) -> list[list[str]]:
    """``paths`` (the largest first) cut into tasks: one per file of a chunk or more, then
    batches of :data:`SMALL_BATCH` smaller files (or files of unknown size)."""
    small = _first_small(paths, sizes)
    batches = [[path] for path in paths[:small]]
    batches.extend(paths[i : i + SMALL_BATCH] for i in range(small, len(paths), SMALL_BATCH))
    return batches


def _first_small(paths: list[str], sizes: Mapping[str, FileKey]) -> int:
    """The index of the first file of ``paths`` (the largest first) smaller than a chunk."""
    return next((i for i, p in enumerate(paths) if _size(sizes, p) < CHUNK_BYTES), len(paths))


Result = tuple[FileDigests | WorkspaceFile | OSError, FileKey | None]


def _hash_one(hasher: Hasher | None, lazy: LazyMd5, path: str) -> Result:
    """One file's digests (``hasher``'s when given) and its key when it may be cached."""
    try:
        if hasher is not None:
            return hasher(path), None
        return hash_file_keyed(path, lazy.needs(path))
    except OSError as exc:
        return exc, None


def _hash_batch(
    hash_one: Callable[[str], Result],
    cache: HashCache | None,
    progress: Progress | None,
    paths: list[str],
) -> list[FileDigests | WorkspaceFile | OSError]:
    """The digests of each of ``paths``, remembered in ``cache`` together."""
    return _kept(cache, progress, paths, [hash_one(path) for path in paths])


def _kept(
    cache: HashCache | None, progress: Progress | None, paths: list[str], found: list[Result]
) -> list[FileDigests | WorkspaceFile | OSError]:
    """The digests ``found`` for ``paths``, remembered in ``cache`` together."""
    if cache is not None:
        cache.remember_all(
            [
                (path, key, result)
                for path, (result, key) in zip(paths, found, strict=True)
                if key is not None and type(result) is FileDigests
            ]
        )
    if progress is not None:
        for result, _ in found:
            if not isinstance(result, OSError):
                progress.advance(result.size)
    return [result for result, _ in found]


def _workspace_file(
    path: str, found: FileDigests | WorkspaceFile | OSError, lazy: LazyMd5
) -> WorkspaceFile | OSError:
    if not isinstance(found, FileDigests):
        return found
    md5 = found.md5 if found.md5 is not None else lazy.pending(path, found.sha256)
    return WorkspaceFile.of(found.sha256, md5, found.size)


Found = FileDigests | WorkspaceFile  # a file's digests as read or cached, or a test's hasher's


def _workspaces(
    graph: ProvenanceGraph,
    plans: dict[str, Plan | WorkspaceFile],
    digests: dict[str, FileDigests | WorkspaceFile | OSError],
    lazy: LazyMd5,
) -> Iterator[tuple[str, WorkspaceFile | None]]:
    """(artifact, its digests) of each plan, from the digests of its files."""
    of = WorkspaceFile.of
    for path, plan in plans.items():
        result = digests.get(plan) if type(plan) is str else None
        if type(result) is FileDigests and result.md5 is not None:  # the common case, at once
            yield path, of(result.sha256, result.md5, result.size)
        elif isinstance(plan, WorkspaceFile):
            yield path, plan  # known at once (CachedFolders)
        else:
            yield path, _assemble(graph, path, plan, digests, lazy)


def _assemble(
    graph: ProvenanceGraph,
    path: str,
    plan: Plan,
    digests: dict[str, FileDigests | WorkspaceFile | OSError],
    lazy: LazyMd5,
) -> WorkspaceFile | None:
    if not isinstance(plan, DirectoryPlan):
        known = _readable(graph, path, path, digests[plan])
        return None if known is None else _file(plan, known, lazy)
    files: list[tuple[str, str, Found]] = []
    for relpath, real in plan.entries:
        found = digests[real]
        if isinstance(found, OSError):  # a directory with an unreadable file has no digest
            _unreadable(graph, path, f"{path}/{relpath}", found)
            return None
        files.append((relpath, real, found))
    files.sort(key=_first)
    sha256 = _manifest_sha256([(rel, found.sha256) for rel, _, found in files])
    size = sum([found.size for _, _, found in files])
    return WorkspaceFile.of(sha256, functools.partial(_files_tree_md5, files, lazy), size)


def _file(path: str, found: Found, lazy: LazyMd5) -> WorkspaceFile:
    if isinstance(found, WorkspaceFile):
        return found
    md5 = found.md5 if found.md5 is not None else functools.partial(lazy.md5, path)
    return WorkspaceFile.of(found.sha256, md5, found.size)


def _files_tree_md5(files: list[tuple[str, str, Found]], lazy: LazyMd5) -> str:
    """DVC's digest of a directory from its files' md5s, the pending ones computed now."""
    return tree_md5((rel, _md5(real, found, lazy)) for rel, real, found in files)


def _md5(path: str, found: Found, lazy: LazyMd5) -> str:
    md5 = found.md5
    return md5 if md5 is not None else lazy.md5(path)


def _readable(
    graph: ProvenanceGraph, subject: str, path: str, result: Found | OSError
) -> Found | None:
    if not isinstance(result, OSError):
        return result
    _unreadable(graph, subject, path, result)
    return None


def _unreadable(graph: ProvenanceGraph, subject: str, path: str, error: OSError) -> None:
    message = f"`{path}` could not be read: {error.strerror or error}"
    graph.issues.append(Issue("unreadable-file", subject, message, (Evidence("path", path),)))


def directory_digest(files: Iterable[tuple[str, WorkspaceFile]]) -> WorkspaceFile:
    """Digest a directory from its files' (relative posix path, digests); see the module doc.

    Its md5 is computed when first read (from its files' md5s, which may be pending).
    """
    ordered = sorted(files, key=lambda item: item[0])
    sha256 = _manifest_sha256((rel, f.sha256) for rel, f in ordered)
    return WorkspaceFile(
        sha256, functools.partial(_tree_md5, ordered), sum(f.size for _, f in ordered)
    )


def _manifest_sha256(files: Iterable[tuple[str, str]]) -> str:
    """The sha256 of the manifest of (relative posix path, sha256) pairs, in their order.

    The text is ``json.dumps([{"relpath": p, "sha256": h}, ...], sort_keys=True)``,
    written item by item with the string encoder ``json.dumps`` itself uses.
    """
    items = [f'{{"relpath": {_json(rel)}, "sha256": {_json(sha)}}}' for rel, sha in files]
    return hashlib.sha256(f"[{', '.join(items)}]".encode()).hexdigest()


def _tree_md5(ordered: list[tuple[str, WorkspaceFile]]) -> str:
    return tree_md5((rel, f.md5) for rel, f in ordered)
