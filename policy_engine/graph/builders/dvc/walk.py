"""DVC's walk of a project's folders, each folder's listing kept for path confinement.

DVC's local file system walks with ``os.walk`` (top-down, a symlinked folder
listed but not entered, a folder that cannot be listed skipped, an entry whose
kind cannot be read taken as a file), naming each folder by
``os.path.normpath``. :func:`walk` is that walk, written as ``os.walk`` is (one
``scandir`` per folder, the caller's changes to a folder's subfolders obeyed),
that also keeps what each listing says of its entries: whether each is a
symlink (``scandir``'s answer, as :class:`policy_engine.graph.paths.Normaliser`
lists a folder), so that the folders of a project's outputs are not listed
again to confine their paths. A subfolder found to be a symlink is not entered
(``os.walk`` asks ``islink`` of it again). Tested equal to DVC's walk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

Listings = dict[str, dict[str, bool]]  # real folder -> each entry's name: is it a symlink
Walked = Iterator[tuple[str, list[str], list[str]]]  # (folder, its subfolders, its files)


def project_walk(fs: Any, top: str, listings: Listings) -> Walked:
    """``fs.walk(top)`` of DVC's local file system ``fs``; the listings go to ``listings``
    when ``top`` is its own real path (then so is every folder the walk enters)."""
    if not _local_walk(fs):
        yield from fs.walk(top, followlinks=False)
        return
    kept = listings if os.path.realpath(top) == os.path.normpath(top) else {}
    yield from walk(top, kept)


def walk(top: str, listings: Listings) -> Walked:
    """``(os.path.normpath(folder), dirs, files)`` of ``os.walk(top)``, in its order."""
    stack = [top]
    while stack:
        folder = stack.pop()
        listed = _listed(folder)
        if listed is None:
            continue  # os.walk skips a folder it cannot list
        dirs, files, links = listed
        root = os.path.normpath(folder)
        if links is not None:
            listings[root] = links
        yield root, dirs, files
        below = [os.path.join(folder, name) for name in dirs]
        stack.extend(
            path
            for name, path in zip(reversed(dirs), reversed(below), strict=True)
            if not (links[name] if links is not None and name in links else os.path.islink(path))
        )


def _listed(folder: str) -> tuple[list[str], list[str], dict[str, bool] | None] | None:
    """The subfolders and files of ``folder`` as ``os.walk`` sorts them, and whether each
    entry is a symlink (None: an entry could not say); None: not listable."""
    dirs: list[str] = []
    files: list[str] = []
    links: dict[str, bool] | None = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                (dirs if is_dir else files).append(entry.name)
                links = _note(links, entry)
    except OSError:
        return None
    return dirs, files, links


def _note(links: dict[str, bool] | None, entry: os.DirEntry[str]) -> dict[str, bool] | None:
    if links is None:
        return None
    try:
        links[entry.name] = entry.is_symlink()
    except OSError:
        return None
    return links


def _local_walk(fs: Any) -> bool:
    """Whether ``fs.walk`` is DVC's local walk (``os.walk`` itself), which :func:`walk` is."""
    from dvc_objects.fs.base import FileSystem
    from dvc_objects.fs.local import FsspecLocalFileSystem

    inner: Any = getattr(fs, "fs", None)
    return type(fs).walk is FileSystem.walk and type(inner).walk is FsspecLocalFileSystem.walk
