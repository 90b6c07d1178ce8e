"""Finding the DVC projects of a repository: every folder with a ``.dvc`` directory.

One git repository may hold several DVC projects (``dvc init --subdir``), at
the root or not. The search goes top-down, in sorted order, and yields each
project before entering its folders, so that the caller can read it and name
the folders not to enter (its outputs: the data, often the largest trees).
It never enters ``.git``, ``.dvc`` or any other hidden folder, symlinked
folders, ``node_modules``, ``__pycache__`` or ``site-packages``, and it is
bounded in folders visited and depth: hitting a bound is a ``search-bounded``
issue (projects below may be missing). A ``dvc.yaml`` or ``dvc.lock`` below the
root that is in no project cannot be loaded by DVC: an ``orphan-pipeline``
issue.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from policy_engine.graph.model import Evidence, Issue

MAX_FOLDERS = 100_000
MAX_DEPTH = 32
SKIPPED = frozenset({"node_modules", "__pycache__", "site-packages"})
PIPELINE_FILES = ("dvc.yaml", "dvc.lock")


class ProjectSearch:
    """Iterate to get project folders (repository-relative, ``.`` for the root)."""

    def __init__(self, root: Path, max_folders: int = MAX_FOLDERS, max_depth: int = MAX_DEPTH):
        self.root = root
        self.max_folders = max_folders
        self.max_depth = max_depth
        self.issues: list[Issue] = []
        self._pruned: set[str] = set()
        self._leaves: set[str] = set()
        self._bounds: set[str] = set()

    def prune(self, paths: Iterable[str]) -> None:
        """Do not enter these repository-relative folders (outputs of a project read)."""
        self._pruned.update(paths)

    def listed(self, folders: Iterable[str]) -> None:
        """These repository-relative folders, inside a project read, have no subfolder (as a
        walk of that project listed them): no project, no orphan, nothing to enter."""
        self._leaves.update(folders)

    def __iter__(self) -> Iterator[str]:
        stack: list[tuple[str, int, bool]] = [(".", 0, False)]
        visited = 0
        while stack:
            folder, depth, in_project = stack.pop()
            if folder in self._pruned:
                continue
            visited += 1
            if visited > self.max_folders:
                self._bounded(f"more than {self.max_folders} folders", folder)
                return
            if folder in self._leaves and in_project:
                continue  # what listing it again would find: nothing to yield, note or enter
            folders, files, is_project = self._list(folder)
            if is_project:
                yield folder
            elif not in_project and folder != ".":
                self._orphans(folder, files)
            if folders and depth >= self.max_depth:
                self._bounded(f"folders deeper than {self.max_depth}", folder)
                continue
            for name in sorted(folders, reverse=True):
                child = name if folder == "." else f"{folder}/{name}"
                stack.append((child, depth + 1, in_project or is_project))

    def _list(self, folder: str) -> tuple[list[str], list[str], bool]:
        """(folders to enter, file names, whether it is a project) of ``folder``."""
        folders: list[str] = []
        files: list[str] = []
        is_project = False
        try:
            with os.scandir(self.root / folder) as listing:
                for entry in listing:
                    if entry.is_dir(follow_symlinks=False):
                        is_project = is_project or entry.name == ".dvc"
                        if not entry.name.startswith(".") and entry.name not in SKIPPED:
                            folders.append(entry.name)
                    else:
                        files.append(entry.name)
        except OSError:
            return [], [], False  # unreadable: DVC could not read it either
        return folders, files, is_project

    def _orphans(self, folder: str, files: list[str]) -> None:
        for name in PIPELINE_FILES:
            if name in files:
                path = f"{folder}/{name}"
                message = (
                    f"`{path}` is in no DVC project (no `.dvc` folder at or above it "
                    "in the repository): DVC cannot load it, so its stages are not read"
                )
                self.issues.append(
                    Issue("orphan-pipeline", path, message, (Evidence("file", path),))
                )

    def _bounded(self, reason: str, folder: str) -> None:
        if reason in self._bounds:
            return  # one issue per bound hit
        self._bounds.add(reason)
        message = f"the search for DVC projects stopped at {reason}: projects below may be missing"
        evidence = (Evidence("stopped at", folder),)
        self.issues.append(Issue("search-bounded", folder, message, evidence))
