"""A directory as DVC sees it: which of its entries count, and its ``.dir`` digest.

Both come from DVC itself. Membership is DVC's ignore filter
(``DvcIgnoreFilter``) of the DVC project holding the directory: its
``.dvcignore`` files from the project root down, DVC's default ignores (``.git``,
``.hg``, ``.dvc``) and nested DVC projects. Outside any DVC project nothing is
ignored. The digest is the md5 of dvc-data's ``Tree`` serialisation of the
files' md5s, plus ``.dir``: what ``dvc add`` records. Neither reads a data file
nor writes anything; DVC is imported only when it is needed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable

IgnoreFilter = Callable[[str, list[str], list[str]], tuple[list[str], list[str]]]
"""DVC's filter of one folder's listing: (folder, dir names, file names) -> the kept ones."""


class DvcIgnores:
    """The ignore filters of the DVC projects under ``root`` (a resolved path), one per project."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._filters: dict[str, IgnoreFilter] = {}
        self._projects: dict[str, str | None] = {}  # folder -> its project, each looked up once

    def of(self, real_dir: str) -> IgnoreFilter | None:
        """The filter of the DVC project holding ``real_dir`` (resolved), or None outside one."""
        project = self._project_of(real_dir)
        if project is None:
            return None
        if project not in self._filters:
            from dvc.fs import localfs
            from dvc.ignore import DvcIgnoreFilter

            self._filters[project] = DvcIgnoreFilter(localfs, project)
        return self._filters[project]

    def _project_of(self, real_dir: str) -> str | None:
        """The nearest folder from ``real_dir`` up to the root that holds a ``.dvc`` folder
        (None: none does); each folder on the way is probed once (artifacts share parents)."""
        projects, seen, folder = self._projects, [], real_dir
        while folder not in projects:
            seen.append(folder)
            if os.path.isdir(os.path.join(folder, ".dvc")):
                projects[folder] = folder
                break
            parent = os.path.dirname(folder)
            if folder == self.root or parent == folder:
                projects[folder] = None
                break
            folder = parent
        project = projects[folder]
        projects.update(dict.fromkeys(seen, project))
        return project


def tree_md5(files: Iterable[tuple[str, str]]) -> str:
    """DVC's ``.dir`` digest of the files given as (posix path relative to the folder, md5)."""
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.tree import Tree

    tree = Tree()  # type: ignore[no-untyped-call]  # dvc-data leaves its constructor unannotated
    for relpath, md5 in files:
        tree.add(tuple(relpath.split("/")), None, HashInfo("md5", md5))
    # Tree.digest() would hash the same bytes through a global in-memory filesystem
    return hashlib.md5(tree.as_bytes(), usedforsecurity=False).hexdigest() + ".dir"
