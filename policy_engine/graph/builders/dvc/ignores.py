"""Whether ``.dvcignore`` ignores a path, as DVC asks when it makes an output, per folder once.

DVC refuses an output its ``.dvcignore`` ignores: ``Output`` asks
``repo.dvcignore.is_ignored(fs, path, ignore_subrepos=False)``. That call looks
up, for every path, the patterns that apply in its folder (a walk of the
ignore trie, with ``realpath`` s), then DVC's ``DvcIgnorePatterns._ignore``
walks the path's prefixes: the first prefix folder that is ignored decides,
otherwise the full path does. At 100,000 outputs, that is a large part of a
load. :class:`OutputIgnores` gives the same answer with each folder judged
once: DVC's ``_get_trie_pattern`` of the folder (its parent's, for a folder
with no ``.dvcignore`` of its own, as DVC's trie stores it), and DVC's own
pattern match of each of its prefix folders. A path then costs DVC's match of itself alone,
as a file and as a folder, and only when the two differ is the disk asked which
it is, as ``is_ignored`` decides (the tests compare it with ``is_ignored`` path
by path, on generated ``.dvcignore`` s). Most paths match no rule at all: DVC's
rules, joined in one regex, are first tried on the path and on the path with
``/`` (what DVC's match of a file and of a folder try), and when none matches,
both of DVC's answers are "not ignored" without asking them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvc.repo import Repo

Matchers = tuple[Callable[[str], Any], ...]  # the ``match`` of each of DVC's compiled rules


class OutputIgnores:
    """DVC's ``is_ignored(fs, path, ignore_subrepos=False)`` for paths of one project."""

    def __init__(self, repo: Repo) -> None:
        from dvc.ignore import DvcIgnore

        self.own_file = DvcIgnore.DVCIGNORE_FILE
        self.ignore = repo.dvcignore
        self.fs = repo.fs
        self.root = self.ignore.root_dir
        self.inside = os.path.join(self.root, "")  # what the path of a folder inside starts with
        # folder -> (its patterns, its path from theirs + "/", their rules' matchers),
        # or whether all in it is ignored
        self._folders: dict[str, tuple[Any, str, Matchers] | bool] = {}
        self._patterns: dict[str, Any] = {}  # folder -> DVC's patterns for it

    def __call__(self, path: str) -> bool:
        """Whether DVC's ``.dvcignore`` handling ignores ``path`` (absolute).

        DVC asks as a file or as a folder by what is on disk (either, for
        nothing there); the disk is asked only when the two answers differ.
        """
        if os.sep != "/":  # DVC first makes a Windows path posix: leave it all to DVC
            return bool(self.ignore.is_ignored(self.fs, path, ignore_subrepos=False))
        return self.normal(os.path.abspath(path))

    def normal(self, path: str) -> bool:
        """:meth:`__call__` of a path already absolute and normal (``os.path.abspath``'s own)."""
        if os.sep != "/":
            return self(path)
        if path == self.root:
            return False  # neither DVC's is_ignored_file nor is_ignored_dir ignores the root
        dirname, _, basename = path.rpartition("/")  # os.path.split's, for a normal path
        folder = self._folders.get(dirname or "/")
        if folder is None:
            folder = self._folders[dirname or "/"] = self._folder(dirname or "/")
        if isinstance(folder, bool):
            return folder
        pattern, prefix, matchers = folder
        if _unmatched(matchers, prefix + basename):
            return False  # DVC's match as a file and as a folder: (False, []) both
        as_file = pattern._find_matching_pattern(prefix + basename, False)[0]
        as_dir = pattern._find_matching_pattern(prefix + basename, True)[0]
        if as_file == as_dir:
            return bool(as_file)
        if self.fs.isfile(path):
            return bool(as_file)
        if self.fs.isdir(path):
            return bool(as_dir)
        return True  # nothing there: DVC ignores it if either way of asking does

    def _folder(self, dirname: str) -> tuple[Any, str, Matchers] | bool:
        """What DVC's ``matches`` decides of ``dirname`` for every name in it: all ignored
        (True), none (False), or the patterns and the prefix a name is matched with.

        ``matches`` names a path by its place under the patterns' folder
        (``_get_normalize_path``; outside it, nothing is ignored), and
        ``_ignore`` asks each of its prefixes as a folder, a prefix ignored
        deciding for all; what is left to a name is the match of its own path.
        """
        pattern = self._pattern(dirname)
        if not pattern:
            return False
        base = pattern.dirname.rstrip(pattern.sep) + pattern.sep
        if dirname == pattern.dirname:
            return pattern, "", _matchers(pattern)
        if not dirname.startswith(base):
            return False
        parts = dirname[len(base) :].split("/")  # as DVC's ``_ignore`` splits the path
        for i in range(1, len(parts) + 1):
            if pattern.find_matching_pattern("/".join(parts[:i]), True)[0]:
                return True
        return pattern, "/".join(parts) + "/", _matchers(pattern)

    def _pattern(self, dirname: str) -> Any:
        """DVC's ``_get_trie_pattern(dirname, None, False)`` (None outside the project).

        DVC gives a folder with no ``.dvcignore`` of its own its parent's patterns
        (``_update_trie`` stores the parent's for it): for such a folder inside
        the project, the parent's are asked of DVC once, and the folder costs one
        ``lstat``. Any other folder is asked of DVC.
        """
        if dirname not in self._patterns:
            parent = os.path.dirname(dirname)
            own = os.path.join(dirname, self.own_file)
            if dirname.startswith(self.inside) and not os.path.lexists(own):
                if parent not in self._patterns:
                    self._patterns[parent] = self.ignore._get_trie_pattern(parent, None, False)
                self._patterns[dirname] = self._patterns[parent]
            else:
                self._patterns[dirname] = self.ignore._get_trie_pattern(dirname, None, False)
        return self._patterns[dirname]


def _matchers(pattern: Any) -> Matchers:
    """The ``match`` of each regex DVC's ``_find_matching_pattern`` tries (its ``ignore_spec``),
    as one: DVC's own regex of each rule (its ``pattern_map``) joined by ``|`` matches a path
    when one of them does. Rules that cannot be joined (a group named twice, a flag
    inside) are given one by one, and no rule is no matcher."""
    spec = pattern.ignore_spec
    rules = [regex for *_, rules in spec for regex, _ in rules.values()]
    if not rules:
        return ()
    try:
        joined = re.compile("|".join(f"(?:{regex})" for regex in rules))
    except re.error:
        return tuple(regex.match for regex, *_ in spec)
    return (joined.match,)


def _unmatched(matchers: Matchers, path: str) -> bool:
    """No rule matches ``path`` nor ``path/``: all DVC's ``_find_matching_pattern`` tries of
    ``path`` as a file (``path``) or as a folder (``path``, ``path/``) fail."""
    folder = path + "/"
    for match in matchers:  # a loop, not ``any``: asked of every output
        if match(path) or match(folder):
            break
    else:
        return True
    return False
