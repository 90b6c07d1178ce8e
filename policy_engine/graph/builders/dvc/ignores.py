"""Whether ``.dvcignore`` ignores a path, as DVC asks when it makes an output, per folder once.

DVC refuses an output its ``.dvcignore`` ignores: ``Output`` asks
``repo.dvcignore.is_ignored(fs, path, ignore_subrepos=False)``. That call looks
up, for every path, the patterns that apply in its folder (a walk of the
ignore trie, with ``realpath`` s): at 100,000 outputs, a large part of a
load. :class:`OutputIgnores` gives the same answer with each folder's
patterns looked up once: DVC's ``_get_trie_pattern`` of the folder, then
DVC's own ``matches``, for a file or a folder as ``is_ignored`` decides (the
tests compare it with ``is_ignored`` path by path).
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
        """Whether DVC's ``.dvcignore`` handling ignores ``path`` (absolute)."""
        if self.fs.isfile(path):
            return self._ignored(path, False)
        if self.fs.isdir(path):
            return self._ignored(path, True)
        return self._ignored(path, False) or self._ignored(path, True)

    def _ignored(self, path: str, is_dir: bool) -> bool:
        """DVC's ``is_ignored_file`` / ``is_ignored_dir`` (``_is_ignored``)."""
        path = os.path.abspath(path)
        if (is_dir and path == self.root) or not self.ignore.fs.isin_or_eq(path, self.root):
            return False
        dirname, basename = os.path.split(os.path.normpath(path))
        if dirname not in self._patterns:
            self._patterns[dirname] = self.ignore._get_trie_pattern(dirname, None, False)
        pattern = self._patterns[dirname]
        return bool(pattern.matches(dirname, basename, is_dir)) if pattern else False
