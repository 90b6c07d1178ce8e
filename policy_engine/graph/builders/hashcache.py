"""A persistent cache of file digests, so that an unchanged re-run skips the bytes.

It lives outside the repository (reading a repository writes nothing in it):
``$MLPOLICY_CACHE_DIR/hashes.sqlite3`` when that variable is set, else
``${XDG_CACHE_HOME:-~/.cache}/mlpolicy/hashes.sqlite3``; a cache location inside
the repository being read is not used.

A row is keyed by the file's resolved path and its size, modification time
(ns), inode, device and status-change time (ns): editing a file changes its
ctime even when its mtime is set back, so a row is only trusted while all of
them are unchanged. A file is remembered only when its status was the same
before and after it was read (it did not change while being hashed). A row's
md5 is empty (NULL) when the file was hashed without it; reading it with its
md5 later replaces the row. A path that is not valid UTF-8 (a hostile file
name) is never stored nor looked up. A run reads the rows of the files under
its repository in one query over that range of the path index.

The cache is a convenience, never a source of truth: when it is missing,
corrupt, locked or unwritable, it is ignored and files are hashed; a row whose
key differs, or whose digests are not well-formed, is ignored too.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from policy_engine.files import cache_dir

FILE_NAME = "hashes.sqlite3"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hashes_v1 (path TEXT PRIMARY KEY, size INTEGER, "
    "mtime_ns INTEGER, ino INTEGER, dev INTEGER, ctime_ns INTEGER, sha256 TEXT, md5 TEXT)"
)
_BATCH = 500
_HEX_DIGITS = "0123456789abcdef"
Row = tuple[Any, ...]  # a row of hashes_v1: path, the five parts of the key, sha256, md5


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
        key = (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev, info.st_ctime_ns)
        return tuple.__new__(cls, key)  # the fields in order, without NamedTuple's __new__


def default_path() -> Path:
    """Where the cache is kept (see the module docstring)."""
    return cache_dir() / FILE_NAME


def _inside(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


class HashCache:
    """Lookups before hashing, and the new digests stored after; every failure ignored."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db: sqlite3.Connection | None = connection
        self._new: list[tuple[str, FileKey, FileDigests]] = []

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
        except (sqlite3.Error, OSError):
            return None
        return cls(connection)

    def hits(self, keys: dict[str, FileKey], root: str | None = None) -> dict[str, FileDigests]:
        """The cached digests of the files whose key is unchanged (md5 None where not known).

        The rows of the files under ``root`` (a resolved folder) are read in one
        query over that prefix of the path index; other paths by batches of names.
        """
        if self._db is None:
            return {}
        try:
            rows = self._rows(keys, root)
        except (sqlite3.Error, ValueError):  # ValueError: a path that is not UTF-8
            self.close()
            return {}
        found: dict[str, FileDigests] = {}
        row_of = rows.get
        for path, key in keys.items():
            row = row_of(path)
            if row is not None and row[1:6] == key and _sane(row[6], row[7]):
                found[path] = FileDigests(row[6], row[7], key.size)
        return found

    def _rows(self, keys: dict[str, FileKey], root: str | None) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        named = list(keys)
        if root is not None:
            prefix = root.rstrip(os.sep) + os.sep
            rows = self._under(prefix)
            named = [path for path in named if not path.startswith(prefix)]
        rows.update(self._named([path for path in named if _storable(path)]))
        return rows

    def _under(self, prefix: str) -> dict[str, Row]:
        """The rows of every path starting with ``prefix``: one range of the path index."""
        assert self._db is not None
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string past the prefix
        query = "SELECT * FROM hashes_v1 WHERE path >= ? AND path < ?"
        return {row[0]: row for row in self._db.execute(query, (prefix, after))}

    def _named(self, paths: list[str]) -> Iterator[tuple[str, Row]]:
        assert self._db is not None
        for start in range(0, len(paths), _BATCH):
            batch = paths[start : start + _BATCH]
            query = f"SELECT * FROM hashes_v1 WHERE path IN ({','.join('?' * len(batch))})"
            yield from ((row[0], row) for row in self._db.execute(query, batch))

    def remember(self, path: str, key: FileKey, file: FileDigests) -> None:
        """Keep a new digest, to be written by :meth:`commit` (thread-safe: list append)."""
        self._new.append((path, key, file))

    def commit(self) -> None:
        """Write the digests remembered since the last commit; failures are ignored."""
        rows, self._new = self._new, []
        if self._db is None or not rows:
            return
        values = [(p, *k, f.sha256, f.md5) for p, k, f in rows if _storable(p)]
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO hashes_v1 VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values
                )
        except sqlite3.Error:
            self.close()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


def _sane(sha256: object, md5: object) -> bool:
    """Whether a row's digests are well-formed (a corrupt row is never trusted): 64 and
    (unless None) 32 lowercase hexadecimal digits."""
    return (
        isinstance(sha256, str)
        and len(sha256) == 64
        and not sha256.strip(_HEX_DIGITS)
        and (
            md5 is None or (isinstance(md5, str) and len(md5) == 32 and not md5.strip(_HEX_DIGITS))
        )
    )


def _storable(path: str) -> bool:
    """Whether ``path`` can be stored (a name that is not UTF-8 is never remembered)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
