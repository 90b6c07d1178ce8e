"""A persistent cache of file digests, so that an unchanged re-run skips the bytes.

It lives outside the repository (reading a repository writes nothing in it):
``$MLPOLICY_CACHE_DIR/hashes.sqlite3`` when that variable is set, else
``${XDG_CACHE_HOME:-~/.cache}/mlpolicy/hashes.sqlite3``; a cache location inside
the repository being read is not used.

A file's digests are trusted only while its resolved path and its size,
modification time (ns), inode, device and status-change time (ns) are unchanged:
editing a file changes its ctime even when its mtime is set back. A file is
remembered only when its status was the same before and after it was read (it
did not change while being hashed). Its md5 is unknown when it was hashed
without it; reading it with its md5 later replaces its entry. A path that is not
valid UTF-8 (a hostile file name), or whose key does not fit 64 bits, is never
stored nor looked up.

The files of one folder are one row (:class:`Folder`): their names (sorted),
their keys packed as 64-bit integers and their digests as one hexadecimal text
each, so a run reads every folder under its repository in one query over that
range of the folder index (kept by the open cache until it writes). A run that
asks for all of a folder's files, in that order (as a walk of the folder or
sorted artifacts ask), compares their keys at once, packed, with the row's
(:meth:`Folder.same_files`); otherwise each file is looked up by name.

A cache written by an earlier version (one row per file, ``hashes_v1``) loses
that table when opened: its files are hashed once more.

The cache is a convenience, never a source of truth: when it is missing,
corrupt, locked or unwritable, it is ignored and files are hashed; an entry whose
key differs, or a row that is not well-formed, is ignored too.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import os
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, cast

from policy_engine.files import cache_dir

FILE_NAME = "hashes.sqlite3"
_TABLE = "folders_v2"
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (folder TEXT PRIMARY KEY, names TEXT, keys BLOB, "
    "sha256 TEXT, md5 TEXT)"
)
_RETIRED = ("hashes_v1",)  # tables of earlier layouts, dropped when the cache is opened
_BATCH = 500
_HEX_DIGITS = b"0123456789abcdef"
_HEX_OR_NONE = _HEX_DIGITS + b"-"
_NO_MD5 = "-" * 32  # a file hashed without its md5
_KEY_FORMAT = "qqQQq"  # size, mtime_ns, inode, device, ctime_ns
_KEY_BYTES = struct.calcsize("<" + _KEY_FORMAT)
Row = tuple[Any, ...]  # a row of the table: folder, names, keys, sha256, md5
Entry = tuple[tuple[int, ...], str, str]  # one file's key, sha256 and md5 (or _NO_MD5)


class FileDigests(NamedTuple):
    """What one read of a file gave: its sha256, its md5 (None when not asked for), its size."""

    sha256: str
    md5: str | None
    size: int


class FileKey(NamedTuple):
    """What must be unchanged for a cached digest to be trusted."""

    size: int
    mtime_ns: int
    ino: int
    dev: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileKey:
        return tuple.__new__(cls, key_fields(info))  # in order, without NamedTuple's __new__


key_fields = operator.attrgetter("st_size", "st_mtime_ns", "st_ino", "st_dev", "st_ctime_ns")
"""The fields of a status a :class:`FileKey` keeps, in order (a loop over many files makes
``tuple.__new__(FileKey, key_fields(info))`` without a call of :meth:`FileKey.of` each)."""


def default_path() -> Path:
    """Where the cache is kept (see the module docstring)."""
    return cache_dir() / FILE_NAME


def _inside(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


@functools.cache
def _packing(count: int) -> struct.Struct:
    """How the keys of ``count`` files are packed (little-endian, 5 integers each)."""
    return struct.Struct("<" + _KEY_FORMAT * count)


class Folder:
    """The cached files of one folder: their names, keys (5 integers each) and digests.

    The keys stay packed as read: a run that asks for exactly the folder's files,
    in its order, compares them all at once (:meth:`all_digests`); a name's index and
    the unpacked keys are made only for lookups by name (:meth:`digests`).
    """

    __slots__ = ("_index", "_keys", "blob", "md5", "names", "sha256")

    def __init__(self, names: list[str], blob: bytes, sha256: str, md5: str) -> None:
        self.names, self.blob, self.sha256, self.md5 = names, blob, sha256, md5
        self._index: dict[str, int] | None = None
        self._keys: tuple[int, ...] = ()

    @classmethod
    def parse(cls, row: Row) -> Folder | None:
        """The folder of a row, or None when the row is not well-formed: every digest 64
        (sha256) or 32 (md5, or ``-`` for none) lowercase hexadecimal digits, and as many
        names (each one not empty), keys, sha256s and md5s."""
        _, names, keys, sha256, md5 = row
        if not (
            isinstance(names, str)
            and isinstance(keys, bytes)
            and isinstance(sha256, str)
            and isinstance(md5, str)
        ):
            return None
        listed = names.split("/")
        count = len(listed)
        if (
            "" in listed
            or len(keys) != _KEY_BYTES * count
            or len(sha256) != 64 * count
            or len(md5) != 32 * count
            or _other_than(sha256, _HEX_DIGITS)
            or _other_than(md5, _HEX_OR_NONE)
        ):
            return None
        return cls(listed, keys, sha256, md5)

    def digests(self, name: str, key: FileKey) -> FileDigests | None:
        """The digests of file ``name`` when cached with that ``key``, else None."""
        if self._index is None:
            self._index = {name: i for i, name in enumerate(self.names)}
            self._keys = _packing(len(self.names)).unpack(self.blob)
        i = self._index.get(name)
        if i is None or self._keys[5 * i : 5 * i + 5] != key:
            return None
        return self._found(i, key[0])

    def _found(self, i: int, size: int) -> FileDigests | None:
        sha256, md5 = self.sha256[64 * i : 64 * i + 64], self.md5[32 * i : 32 * i + 32]
        if md5 == _NO_MD5:
            return tuple.__new__(FileDigests, (sha256, None, size))
        return None if "-" in md5 else tuple.__new__(FileDigests, (sha256, md5, size))

    def same_files(self, names: list[str], keys: Iterable[int]) -> bool:
        """Whether the files ``names`` (with their keys' integers, 5 each, in order) are
        exactly this folder's files, in its order, and no key changed (one comparison of
        the packed keys)."""
        if names != self.names:
            return False
        try:
            packed = _packing(len(names)).pack(*keys)
        except struct.error:  # a key beyond 64 bits is never cached (or a key's length)
            return False
        return packed == self.blob

    def hex_digests(self) -> tuple[list[str], list[str | None]] | None:
        """Each file's sha256 and md5 (None where hashed without it), in order; None when
        an md5 is neither a digest nor none (that file's entry is not trusted)."""
        sha256, md5 = self.sha256, self.md5
        shas = [sha256[i : i + 64] for i in range(0, len(sha256), 64)]
        if md5 == _NO_MD5 * len(shas):  # all hashed without their md5: at once
            return shas, [None] * len(shas)
        md5s: list[str | None] = [md5[i : i + 32] for i in range(0, len(md5), 32)]
        if "-" not in md5:
            return shas, md5s
        md5s = [None if each == _NO_MD5 else each for each in md5s]
        return None if any("-" in each for each in md5s if each) else (shas, md5s)

    def all_digests(self, names: list[str], keys: list[FileKey]) -> list[FileDigests | None]:
        """The digests of the files ``names`` (with their ``keys``) when they are exactly
        this folder's files, in its order, and no key changed (one comparison of the packed
        keys); else an empty list."""
        if not self.same_files(names, itertools.chain.from_iterable(keys)):
            return []
        found = self.hex_digests()
        if found is None:  # an md5 not trusted: the other files' digests still are
            return [self._found(i, key[0]) for i, key in enumerate(keys)]
        new = tuple.__new__
        return [
            new(FileDigests, (sha256, md5, key[0]))
            for sha256, md5, key in zip(*found, keys, strict=True)
        ]

    def entries(self) -> dict[str, Entry]:
        """Each file's (key, sha256, md5 or ``-``), by name."""
        keys = _packing(len(self.names)).unpack(self.blob)
        return {
            name: (
                keys[5 * i : 5 * i + 5],
                self.sha256[64 * i : 64 * i + 64],
                self.md5[32 * i : 32 * i + 32],
            )
            for i, name in enumerate(self.names)
        }


def _other_than(text: str, allowed: bytes) -> bool:
    """Whether ``text`` holds a character not in ``allowed`` (ASCII): what is left of its
    UTF-8 once those bytes are deleted (one pass in C; any other character leaves a byte)."""
    return bool(text.encode("utf-8", "surrogatepass").translate(None, allowed))


def _row(folder: str, entries: dict[str, Entry]) -> Row:
    """The row of ``folder`` holding ``entries``, sorted by name (the order a run asks in)."""
    names = sorted(entries)
    values = [entries[name] for name in names]
    keys = [number for key, _, _ in values for number in key]
    return (
        folder,
        "/".join(names),
        _packing(len(values)).pack(*keys),
        "".join(sha256 for _, sha256, _ in values),
        "".join(md5 for _, _, md5 in values),
    )


class HashCache:
    """Lookups before hashing, and the new digests stored after; every failure ignored."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db: sqlite3.Connection | None = connection
        self._new: list[tuple[str, FileKey, FileDigests]] = []
        self._under_root: tuple[str, dict[str, Row]] | None = None  # rows read, until a commit

    @classmethod
    def open(cls, root: Path, path: Path | None = None) -> HashCache | None:
        """The cache at ``path`` (default: :func:`default_path`), or None when unusable."""
        location = path or default_path()
        if _inside(location, root) or _inside(location.parent, root):
            return None
        try:
            location.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            connection = sqlite3.connect(location, timeout=1.0, check_same_thread=False)
            connection.execute(_SCHEMA)
            for table in _RETIRED:
                connection.execute(f"DROP TABLE IF EXISTS {table}")
        except (sqlite3.Error, OSError):
            return None
        return cls(connection)

    def hits(self, keys: dict[str, FileKey], root: str | None = None) -> dict[str, FileDigests]:
        """The cached digests of the files whose key is unchanged (md5 None where not known).

        The folders under ``root`` (a resolved folder) are read in one query over
        that range of the folder index; other folders by batches of names.
        """
        if self._db is None:
            return {}
        runs = list(_runs(keys))
        try:
            folders = self._folders({run[0] for run in runs}, root)
        except (sqlite3.Error, ValueError):  # ValueError: a root that is not UTF-8
            self.close()
            return {}
        found: dict[str, FileDigests] = {}
        for folder, paths, names, files in runs:
            cached = folders.get(folder)
            if cached is None:
                continue
            digests = cached.all_digests(names, files) or list(map(cached.digests, names, files))
            if None in digests:
                found.update((p, d) for p, d in zip(paths, digests, strict=True) if d is not None)
            else:  # every file a hit, the common case: at once
                found.update(zip(paths, cast(list[FileDigests], digests), strict=True))
        return found

    def folder(self, folder: str, root: str) -> Folder | None:
        """The cached row of ``folder`` under ``root`` (resolved folders), or None. The rows
        under ``root`` are read at once, on first use, and kept for :meth:`hits`."""
        try:
            row = self._rows_under(root).get(folder)
        except (sqlite3.Error, ValueError):  # ValueError: a root that is not UTF-8
            self.close()
            return None
        return None if row is None else Folder.parse(row)

    def _rows_under(self, root: str) -> dict[str, Row]:
        """The rows of :meth:`_under` by folder, read once per root (until a commit)."""
        if self._under_root is None or self._under_root[0] != root:
            self._under_root = root, {row[0]: row for row in self._under(root)}
        return self._under_root[1]

    def _folders(self, wanted: set[str], root: str | None) -> dict[str, Folder]:
        rows: list[Row] = []
        named = [folder for folder in wanted if _storable(folder)]
        if root is not None:
            under = self._rows_under(root)
            rows = [under[folder] for folder in wanted if folder in under]
            named = [folder for folder in named if not _is_under(folder, root)]
        rows.extend(self._named(named))
        parsed = ((row[0], Folder.parse(row)) for row in rows)
        return {folder: cached for folder, cached in parsed if cached is not None}

    def _under(self, root: str) -> Iterator[Row]:
        """The rows of ``root`` and of every folder under it: one range of the folder index."""
        if self._db is None:
            return iter(())
        base = root.rstrip(os.sep)
        after = base + chr(ord(os.sep) + 1)  # the first string past every "root/..."
        query = f"SELECT * FROM {_TABLE} WHERE folder = ? OR (folder > ? AND folder < ?)"
        return self._db.execute(query, (base, base + os.sep, after))

    def _named(self, folders: list[str]) -> Iterator[Row]:
        assert self._db is not None
        for start in range(0, len(folders), _BATCH):
            batch = folders[start : start + _BATCH]
            query = f"SELECT * FROM {_TABLE} WHERE folder IN ({','.join('?' * len(batch))})"
            yield from self._db.execute(query, batch)

    def remember(self, path: str, key: FileKey, file: FileDigests) -> None:
        """Keep a new digest, to be written by :meth:`commit` (thread-safe: list append)."""
        self._new.append((path, key, file))

    def remember_all(self, files: list[tuple[str, FileKey, FileDigests]]) -> None:
        """:meth:`remember` each of ``files`` (path, key, digests) at once (thread-safe: one
        list extend)."""
        self._new.extend(files)

    def commit(self) -> None:
        """Write the digests remembered since the last commit into their folders' rows
        (the other files of a folder kept); failures are ignored."""
        new, self._new = self._new, []
        if self._db is None or not new:
            return
        self._under_root = None  # rows change
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")  # no other writer between read and write
                self._db.executemany(
                    f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?)", self._merged(new)
                )
        except (sqlite3.Error, ValueError, struct.error):
            self.close()

    def _merged(self, new: Iterable[tuple[str, FileKey, FileDigests]]) -> list[Row]:
        """The rows of the folders of ``new``: their cached files, updated by ``new``."""
        grouped: dict[str, dict[str, Entry]] = {}
        for path, key, file in new:
            folder, _, name = path.rpartition(os.sep)
            entries = grouped.get(folder)
            if entries is None:
                entries = grouped[folder] = {}
            entries[name] = (key, file.sha256, file.md5 or _NO_MD5)
        folders = [folder for folder in grouped if _storable(folder)]
        cached = {row[0]: Folder.parse(row) for row in self._named(folders)}
        rows = []
        for folder in folders:
            old = cached.get(folder)
            kept = old.entries() if old is not None else {}
            kept.update(_storable_entries(grouped[folder]))
            rows.append(_row(folder, kept))
        return rows

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


def _runs(keys: dict[str, FileKey]) -> Iterator[tuple[str, list[str], list[str], list[FileKey]]]:
    """(folder, paths, names, keys) of each run of ``keys`` in one folder, in order."""
    last: str | None = None
    paths: list[str] = []
    names: list[str] = []
    files: list[FileKey] = []
    sep = os.sep
    for path, key in keys.items():  # a folder's files mostly follow one another
        folder, _, name = path.rpartition(sep)
        if folder != last:
            if last is not None:
                yield last, paths, names, files
            last, paths, names, files = folder, [], [], []
        paths.append(path)
        names.append(name)
        files.append(key)
    if last is not None:
        yield last, paths, names, files


def _is_under(folder: str, root: str) -> bool:
    base = root.rstrip(os.sep)
    return folder == base or folder.startswith(base + os.sep)


def _storable_entries(entries: dict[str, Entry]) -> dict[str, Entry]:
    """The ``entries`` whose name can be stored and whose key fits: all of them, checked at
    once (names joined, keys packed together), unless some cannot (then one by one)."""
    try:
        _packing(len(entries)).pack(
            *itertools.chain.from_iterable(k for k, _, _ in entries.values())
        )
    except struct.error:
        pass
    else:
        if _storable("".join(entries)):  # a name that is not UTF-8 spoils the joined text
            return entries
    return {name: entry for name, entry in entries.items() if _storable(name) and _fits(entry[0])}


def _fits(key: tuple[int, ...]) -> bool:
    """Whether ``key`` can be packed (a time or size beyond 64 bits is never stored)."""
    try:
        _packing(1).pack(*key)
    except struct.error:
        return False
    return True


def _storable(path: str) -> bool:
    """Whether ``path`` can be stored (a name that is not UTF-8 is never remembered)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
