"""Whether ``.dvcignore`` ignores a path, as DVC asks when it makes an output, per folder once.

DVC refuses an output its ``.dvcignore`` ignores: ``Output`` asks
``repo.dvcignore.is_ignored(fs, path, ignore_subrepos=False)``. That call looks
up, for every path, the patterns that apply in its folder (a walk of the
ignore trie, with ``realpath`` s): at 100,000 outputs, a large part of a
load. :class:`OutputIgnores` gives the same answer with each folder's
patterns looked up once: DVC's ``_get_trie_pattern`` of the folder, then
DVC's own ``matches``, as a file and as a folder, and only when the two
differ is the disk asked which it is, as ``is_ignored`` decides (the tests
compare it with ``is_ignored`` path by path, on generated ``.dvcignore`` s).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvc.repo import Repo


class OutputIgnores:
    """DVC's ``is_ignored(fs, path, ignore_subrepos=False)`` for paths of one project."""

    def __init__(self, repo: Repo) -> None:
        self.ignore = repo.dvcignore
        self.fs = repo.fs
        self.root = self.ignore.root_dir
        self._patterns: dict[str, Any] = {}

    def __call__(self, path: str) -> bool:
        """Whether DVC's ``.dvcignore`` handling ignores ``path`` (absolute).

        DVC asks as a file or as a folder by what is on disk (either, for
        nothing there); the disk is asked only when the two answers differ.
        """
        path = os.path.abspath(path)
        if path == self.root:
            return False  # neither DVC's is_ignored_file nor is_ignored_dir ignores the root
        dirname, basename = os.path.split(path)
        if dirname not in self._patterns:  # None outside the project
            self._patterns[dirname] = self.ignore._get_trie_pattern(dirname, None, False)
        pattern = self._patterns[dirname]
        if not pattern:
            return False
        as_file = bool(pattern.matches(dirname, basename, False))
        as_dir = bool(pattern.matches(dirname, basename, True))
        if as_file == as_dir:
            return as_file
        if self.fs.isfile(path):
            return as_file
        if self.fs.isdir(path):
            return as_dir
        return True  # nothing there: DVC ignores it if either way of asking does
