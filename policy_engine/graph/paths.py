"""Normalising and confining paths read from pipelines and attestations."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path, PurePosixPath


class PathEscape(ValueError):
    """A path from an input points outside the repository."""


def normalise(root: Path, raw: str, base: str = "") -> str:
    """Return ``raw`` (relative to repo folder ``base``) as a repository-relative posix path.

    Raises :class:`PathEscape` for absolute paths, ``..`` leaving the repository,
    and existing symlinks that resolve outside it. Nothing is read.
    """
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
