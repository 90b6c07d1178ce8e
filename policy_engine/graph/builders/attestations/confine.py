"""Confining artifact paths named by attestations to the repository.

Paths are normalised with :func:`policy_engine.graph.paths.normalise`; absolute
paths, ``..`` leaving the repository and symlinks resolving outside it are
``path-escape`` issues, and the path is left out of the attestation.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policy_engine.graph.model import Evidence, Issue
from policy_engine.graph.paths import PathEscape, normalise, refuse_unusable, shown


class Normaliser:
    """``paths.normalise`` against one root, with the same results, for many paths.

    :func:`policy_engine.graph.paths.normalise` resolves the whole path on disk
    for every call; here the lexical checks are its own (it is called for the
    message when a path escapes), and the real path is resolved one component
    at a time from the root, each folder once. Which names of a folder are
    symlinks is read once per folder (``os.scandir``, one listing), so a path
    costs no system call; a folder that cannot be listed asks ``lstat`` per name.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        self._inner = (
            self._real_root + os.sep
        )  # what a path inside starts with, as `normalise` says
        # lexical folder -> its real path, and the names of the symlinks in it
        self._folders: dict[str, tuple[str, frozenset[str] | None]] = {
            "": (self._real_root, symlinks_in(self._real_root))
        }
        self._seen: dict[str, str | PathEscape] = {}

    def __call__(self, raw: str) -> str:
        """The normalised path of ``raw``; raises :class:`PathEscape` as ``normalise`` does."""
        result = self._seen.get(raw)
        if result is None:
            result = self._seen[raw] = self._normalise(raw)
        if isinstance(result, PathEscape):
            raise PathEscape(*result.args)
        return result

    def _normalise(self, raw: str) -> str | PathEscape:
        try:
            refuse_unusable(raw)
        except PathEscape as exc:
            return exc
        text = raw.replace("\\", "/")
        lexical = not text.startswith("/") and not (len(text) > 1 and text[1] == ":")
        joined = _normpath(text) if lexical else ""
        if not lexical or joined == ".." or joined.startswith("../") or not self._inside(joined):
            try:
                return normalise(self.root, raw)  # the reference, for its exact message
            except PathEscape as exc:
                return exc
        return joined

    def _inside(self, joined: str) -> bool:
        """Whether the real path of ``joined`` (normalised, relative) is in the real root."""
        if joined == ".":
            return True
        parent, _, name = joined.rpartition("/")
        folder = self._folders.get(parent) or self._folder(parent)
        real = self._resolved(folder, name)
        return real == self._real_root or real.startswith(self._inner)

    def _folder(self, lexical: str) -> tuple[str, frozenset[str] | None]:
        """The real path of a folder and its symlinks, resolving each folder above it once."""
        missing, folder = [], lexical
        while folder not in self._folders:
            missing.append(folder)
            folder = posixpath.split(folder)[0]
        for folder in reversed(missing):  # outermost first, without recursion
            above, base = posixpath.split(folder)
            real = self._resolved(self._folders[above], base)
            self._folders[folder] = (real, symlinks_in(real))
        return self._folders[lexical]

    @staticmethod
    def _resolved(folder: tuple[str, frozenset[str] | None], name: str) -> str:
        """The real path of ``name`` in a folder given by its real path and its symlinks."""
        real_parent, links = folder
        candidate = os.path.join(real_parent, name)
        is_link = name in links if links is not None else os.path.islink(candidate)
        return os.path.realpath(candidate) if is_link else candidate


def _normpath(text: str) -> str:
    """``posixpath.normpath(text)`` for a relative ``text``: the text itself when it has
    no empty, ``.`` or ``..`` part (found by three searches, not a walk of its parts)."""
    wrapped = f"/{text}/"
    if "//" in wrapped or "/./" in wrapped or "/../" in wrapped:
        return posixpath.normpath(text)
    return text


def symlinks_in(folder: str) -> frozenset[str] | None:
    """The names of the symlinks in ``folder`` (empty when it is missing or not a
    folder, as ``lstat`` finds nothing there); None when it cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(entry.name for entry in entries if entry.is_symlink())
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()
    except OSError:
        return None


def confined(
    normalise_path: Normaliser,
    artifacts: Mapping[str, Any],
    where: tuple[str, str, str],
    role: str,
    issues: list[Issue],
) -> dict[str, dict[str, str]]:
    """Normalise the paths of ``artifacts`` (path -> digests) named in ``role`` of a document.

    ``where`` is (file, kind, name), e.g. ``("a.link", "link", "train")``. Escapes
    and paths named twice with different digests become ``issues``.
    """
    _, kind, name = where
    kept: dict[str, dict[str, str]] = {}
    for raw, named in sorted(artifacts.items()):
        digest = dict(named)
        try:
            path = normalise_path(raw)
        except PathEscape as exc:
            message = f"{kind} `{name}` {role}: {exc}"
            issues.append(Issue("path-escape", shown(raw), message, _evidence(where, role, raw)))
            continue
        if kept.setdefault(path, digest) != digest:
            message = f"{kind} `{name}` names {role} `{path}` twice with different digests"
            issues.append(Issue("conflicting-digest", path, message, _evidence(where, role, raw)))
    return kept


def _evidence(where: tuple[str, str, str], role: str, raw: str) -> tuple[Evidence, ...]:
    file, kind, name = where
    return (Evidence("file", file), Evidence(kind, name), Evidence(role, shown(raw)))
