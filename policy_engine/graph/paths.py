"""Normalising and confining paths read from pipelines and attestations."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path, PurePosixPath

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
    longer than :data:`MAX_PATH_CHARS`). Nothing is read.
    """
    refuse_unusable(raw)
    refuse_unusable(base)
    text = raw.replace("\\", "/")
    if PurePosixPath(text).is_absolute() or (len(text) > 1 and text[1] == ":"):
        raise PathEscape(f"absolute path `{raw}`")
    joined = posixpath.normpath(posixpath.join(base, text)) if base else posixpath.normpath(text)
    if joined == ".." or joined.startswith("../"):
        raise PathEscape(f"path `{raw}` leaves the repository")
    if joined == ".":
        return "."
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, joined))
    if real != real_root and not real.startswith(real_root + os.sep):
        raise PathEscape(f"path `{raw}` is a symlink leaving the repository")
    return joined
