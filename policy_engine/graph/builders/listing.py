"""One listing of each folder per build, shared by the builders that look for files.

The model-signature finder asks which names a folder holds (a ``.sig`` beside an
artifact, whether an artifact is a folder) and the workspace builder takes each
artifact file's status from the same entry (``os.DirEntry.stat``, taken once and
kept by the entry): a folder is listed once per build and a file stat-ed once.

A listed entry is the path on any file system. A name that is not listed is
certainly absent only where the file system tells names apart exactly: on one
that folds case (or Unicode normalisation) it may still exist under another
spelling. So a folder answers "absent" only for a plain ASCII name, and only once a
listed ASCII name's other-case twin was not found there (one status per folder);
everywhere else the caller asks the file system, as ``os.path`` would.
"""

from __future__ import annotations

import itertools
import operator
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext
    from policy_engine.graph.model import ProvenanceGraph

KEY = "listing.folders"
PATHS = "listing.artifact-paths"
Entries = dict[str, os.DirEntry[str]]


class Listings:
    """Folders (absolute paths) listed once each; a folder that cannot be listed answers None."""

    def __init__(self) -> None:
        self._folders: dict[str, Entries | None] = {}
        self._exactness: dict[str, bool] = {}

    @classmethod
    def of(cls, context: BuildContext) -> Listings:
        """The listings of this build (made by the first builder that asks)."""
        listings: Listings = context.deferred.setdefault(KEY, cls())
        return listings

    def entries(self, folder: str) -> Entries | None:
        """The entries of ``folder`` by name, listed on first use; None when it cannot be."""
        folders = self._folders
        if folder in folders:
            return folders[folder]
        try:
            with os.scandir(folder) as listing:
                folders[folder] = {entry.name: entry for entry in listing}
        except OSError:
            folders[folder] = None
        return folders[folder]

    def entry(self, folder: str, name: str) -> os.DirEntry[str] | None:
        """The entry ``name`` of ``folder`` when listed, else None (which proves nothing)."""
        entries = self.entries(folder)
        return None if entries is None else entries.get(name)

    def absent(self, folder: str, name: str) -> bool:
        """Whether ``name`` certainly does not exist in ``folder`` (see the module doc)."""
        entries = self.entries(folder)
        if entries is None or name in entries or not _plain_ascii(name):
            return False
        return self._exact(folder, entries)

    def unproven(self, folder: str, names: list[str]) -> list[str]:
        """The ``names`` that :meth:`absent` does not prove absent from ``folder``, in order."""
        entries = self.entries(folder)
        if entries is None:
            return names
        if entries.keys().isdisjoint(names) and _all_plain_ascii(names):  # the common case
            return [] if self._exact(folder, entries) else names
        kept = [name for name in names if name in entries or not _plain_ascii(name)]
        return kept if len(kept) == len(names) or self._exact(folder, entries) else names

    def _exact(self, folder: str, entries: Entries) -> bool:
        exact = self._exactness.get(folder)
        if exact is None:
            exact = self._exactness[folder] = _tells_case_apart(folder, entries)
        return exact

    def may_be_dir(self, folder: str, name: str) -> bool:
        """False when ``name`` is listed in ``folder`` and is not a folder (a symlink is
        followed, as ``os.path.isdir`` follows it); else True (the file system decides)."""
        entry = self.entry(folder, name)
        return entry is None or _may_be_dir(entry)

    def may_be_dirs(self, folder: str, names: list[str]) -> list[str]:
        """The ``names`` for which :meth:`may_be_dir` is true, in order."""
        entries = self.entries(folder)
        if entries is None:
            return names
        get = entries.get
        try:  # a listed entry's type is known without a status, unless it is a symlink
            return [name for name in names if (e := get(name)) is None or e.is_dir()]
        except OSError:  # a symlink whose target cannot be looked at: the file system decides
            return [name for name in names if (e := get(name)) is None or _may_be_dir(e)]


def artifact_paths(graph: ProvenanceGraph, context: BuildContext) -> list[str]:
    """Every artifact's path, sorted: made once per build and kept while the graph gains no
    node (a node is never removed, so the same count is the same artifacts). Read it only."""
    count = len(graph.g)
    kept: tuple[int, list[str]] | None = context.deferred.get(PATHS)
    if kept is None or kept[0] != count:
        kept = context.deferred[PATHS] = (count, sorted(a.path for a in graph.artifacts()))
    return kept[1]


def by_folder(paths: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """(folder, names) of each run of repository paths in one folder, in order (``.`` left
    out): sorted paths give each folder's names together, sorted (most often in one run)."""
    split = (path.rpartition("/") for path in paths if path != ".")
    for folder, parts in itertools.groupby(split, key=_FOLDER):
        yield folder, list(map(_NAME, parts))


_FOLDER, _NAME = operator.itemgetter(0), operator.itemgetter(2)


def _may_be_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return True


_SPECIAL = frozenset(("", ".", ".."))  # names no listing holds


def _plain_ascii(name: str) -> bool:
    """Whether ``name`` is one ASCII name a listing could hold (not ``.``, ``..``, a path)."""
    return name.isascii() and name not in _SPECIAL and "/" not in name and "\0" not in name


def _all_plain_ascii(names: list[str]) -> bool:
    """Whether every one of ``names`` (at least one) is :func:`_plain_ascii`, checked at once."""
    joined = "/".join(names)
    return (
        joined.isascii()
        and "\0" not in joined
        and joined.count("/") == len(names) - 1
        and _SPECIAL.isdisjoint(names)
    )


def _tells_case_apart(folder: str, entries: Entries) -> bool:
    """Whether the file system of ``folder`` finds no other-case twin of a listed ASCII name."""
    for name in entries:
        twin = name.swapcase()
        if name.isascii() and twin != name and twin not in entries:
            return not os.path.lexists(os.path.join(folder, twin))
    return False  # no name to try: every unlisted name may exist
