"""Normalising and confining paths read from pipelines and attestations."""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from policy_engine.files import unusable_path


class PathEscape(ValueError):
    """A path from an input points outside the repository (or can name no file in it)."""


def refuse_unusable(raw: str) -> None:
    """Raise :class:`PathEscape` for a path no file can have (NUL byte, too long)."""
    reason = unusable_path(raw)
    if reason is not None:
        raise PathEscape(reason)


def shown(raw: str, limit: int = 200) -> str:
    """``raw`` for a report: NUL bytes written ``\\0``, at most ``limit`` characters."""
    text = raw.replace("\0", "\\0")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def normalise(root: Path, raw: str, base: str = "") -> str:
    """Return ``raw`` (relative to repo folder ``base``) as a repository-relative posix path.

    Raises :class:`PathEscape` for absolute paths, ``..`` leaving the repository,
    existing symlinks that resolve outside it, and paths no file can have (NUL bytes,
    longer than :data:`MAX_PATH_CHARS`). Nothing is read. For many paths against one
    root, :class:`Normaliser` gives the same answers.
    """
    joined = _lexical(raw, base)
    if joined == ".":
        return "."
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, joined))
    if not _within(real, real_root):
        raise PathEscape(f"path `{raw}` is a symlink leaving the repository")
    return joined


def _lexical(raw: str, base: str) -> str:
    """``raw`` joined to ``base`` and normalised, refused if no file can have it or it leaves."""
    refuse_unusable(raw)
    refuse_unusable(base)
    text = raw.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):  # posix or drive absolute
        raise PathEscape(f"absolute path `{raw}`")
    joined = posixpath.normpath(posixpath.join(base, text)) if base else posixpath.normpath(text)
    if joined == ".." or joined.startswith("../"):
        raise PathEscape(f"path `{raw}` leaves the repository")
    return joined


def _within(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root + os.sep)


class Normaliser:
    """:func:`normalise` against one root, with the same answers, for many paths.

    The lexical checks are :func:`normalise`'s own (it is called again for the
    message when a path escapes). Symlinks are resolved once per folder: each
    folder's real path is found once, from its parent's, and each real folder
    is listed once (``scandir``, whose entries say which are symlinks without a
    stat), so a path costs no system call of its own; a name its folder's
    listing lacks is asked of the file system once (``lstat``), and nothing
    below a missing one is asked at all. A symlink is resolved by
    ``os.path.realpath``. A path ``folder/name`` with a plain name is its
    folder's answer (found once) joined with the name; once a folder is found
    inside the root, a name its listing holds as no symlink is answered from
    that listing alone.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        self._folders: dict[str, str | None] = {"": self._real_root}  # None: missing
        self._listings: dict[str, dict[str, bool] | bool] = {}  # name -> symlink; False: unlistable
        self._seen: dict[tuple[str, str], str | PathEscape] = {}
        # (folder as written, base) -> (its repository path, the listing of its real folder),
        # for a folder that exists inside the root: a listed plain name in it is no symlink
        self._inside: dict[tuple[str, str], tuple[str, dict[str, bool]]] = {}

    def __call__(self, raw: str, base: str = "") -> str:
        """``normalise(root, raw, base)``; raises :class:`PathEscape` as it does."""
        result = self.answer(raw, base)
        if isinstance(result, PathEscape):
            raise PathEscape(*result.args)
        return result

    def answer(self, raw: str, base: str = "") -> str | PathEscape:
        """What :meth:`__call__` returns, or the :class:`PathEscape` it would raise."""
        result = self._seen.get((raw, base))
        if result is None:
            result = self._seen[raw, base] = self._normalise(raw, base)
        return result

    def listed(self, real_folder: str, names: dict[str, bool]) -> None:
        """Take ``names`` (each entry of the folder whose real path is ``real_folder``, and
        whether it is a symlink, as a ``scandir`` of it says) as that folder's listing,
        unless it was listed already."""
        self._listings.setdefault(real_folder, names)

    def _normalise(self, raw: str, base: str) -> str | PathEscape:
        named = self._named(raw, base)
        return named if named is not None else self._ordinary(raw, base)

    def _ordinary(self, raw: str, base: str) -> str | PathEscape:
        try:
            joined = _lexical(raw, base)
            if joined != "." and not _within(self._real(joined), self._real_root):
                return normalise(self.root, raw, base)  # the reference, for its message
        except PathEscape as exc:
            return exc
        return joined

    def _named(self, raw: str, base: str) -> str | None:
        """``raw`` as ``folder/name``: the folder normalised once (and remembered), the name
        joined to it: what :func:`_lexical` gives when the name is a plain one.

        None when ``raw`` is not that (no folder; a name that is empty, ``.``, ``..``
        or holds ``\\`` or ``:``; a path no file can have), or the folder or the
        path is refused: the whole path then goes the usual way, for its message.
        """
        folder_raw, _, name = raw.rpartition("/")
        if not folder_raw or name in ("", ".", "..") or "\\" in name or ":" in name:
            return None
        if unusable_path(raw) is not None:
            return None
        inside = self._inside.get((folder_raw, base))
        if inside is not None and inside[1].get(name) is False:  # the answer below, at once
            return f"{inside[0]}/{name}" if inside[0] else name
        folder = self._seen.get((folder_raw, base))
        if folder is None:
            folder = self._seen[folder_raw, base] = self._ordinary(folder_raw, base)
        if isinstance(folder, PathEscape) or folder.endswith("/"):
            return None
        parent = "" if folder == "." else folder
        if not _within(self._real_in(parent, name), self._real_root):
            return None
        self._note_inside(folder_raw, base, parent)
        return f"{parent}/{name}" if parent else name

    def _note_inside(self, folder_raw: str, base: str, parent: str) -> None:
        """Remember ``parent``'s listing when its real folder is inside the root: a plain
        name listed there as no symlink is then ``parent/name``, inside the root too."""
        real_parent, root = self._folders[parent], self._real_root
        if real_parent is None or root == os.sep:  # missing; or every path starts with ``/``
            return
        listing = self._listings.get(real_parent)
        if isinstance(listing, dict) and _within(real_parent, root):
            self._inside[folder_raw, base] = (parent, listing)

    def _real(self, joined: str) -> str:
        """``os.path.realpath`` of ``joined`` under the real root, folders resolved once."""
        return self._real_in(*posixpath.split(joined))

    def _real_in(self, parent: str, name: str) -> str:
        """:meth:`_real` of ``name`` in folder ``parent`` (``""``: the root)."""
        missing, folder = [], parent
        while folder not in self._folders:
            missing.append(folder)
            folder = posixpath.split(folder)[0]
        for folder in reversed(missing):  # outermost first, without recursion
            above, base = posixpath.split(folder)
            self._folders[folder] = self._resolved(self._folders[above], base)
        real_parent = self._folders[parent]
        real = self._resolved(real_parent, name)
        return real if real is not None else self._lost(parent, name)

    def _lost(self, parent: str, name: str) -> str:
        """The real path of a missing ``parent/name``: its parent's real path joined."""
        missing = [name]
        while self._folders[parent] is None:
            parent, base = posixpath.split(parent)
            missing.append(base)
        return os.path.join(str(self._folders[parent]), *reversed(missing))

    def _resolved(self, real_parent: str | None, name: str) -> str | None:
        """The real path of ``name`` in the folder whose real path is ``real_parent``.

        None: it does not exist (nor anything below it); its real path is then
        the parent's joined with the names (:meth:`_lost`).
        """
        if real_parent is None:
            return None
        candidate = os.path.join(real_parent, name)
        link = self._is_link(real_parent, name, candidate)
        if link is None:
            return None
        return os.path.realpath(candidate) if link else candidate

    def _is_link(self, real_parent: str, name: str, candidate: str) -> bool | None:
        """Whether ``candidate`` is a symlink; None: it does not exist."""
        listing = self._listings.get(real_parent)
        if listing is None:
            listing = self._listings[real_parent] = _listing(real_parent)
        if isinstance(listing, dict) and name in listing:
            return listing[name]
        try:  # not listed: only the file system's own answer is exact (case, encodings)
            return stat.S_ISLNK(os.lstat(candidate).st_mode)
        except OSError:
            return None  # as realpath: not a link, and nothing below it is one either


def _listing(real_folder: str) -> dict[str, bool] | bool:
    """Each entry of ``real_folder`` and whether it is a symlink; False: not listable."""
    try:
        with os.scandir(real_folder) as entries:
            return {entry.name: entry.is_symlink() for entry in entries}
    except OSError:
        return False
