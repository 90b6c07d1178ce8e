"""A run's artifacts that are in the repository, by sha256, to match workspace files.

MLflow records where a run's artifacts are as an absolute location on the
machine that made the run. It is used when it lies inside the repository;
otherwise its part from the last ``mlruns`` or ``mlartifacts`` folder on is
looked for beside the store (a repository moved or cloned since). Remote
locations (``s3://``, ``mlflow-artifacts:``) are not read. Files are read
without following symlinks, bounded in number and size.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from policy_engine import inputs
from policy_engine.graph.paths import PathEscape, normalise

MAX_RUN_FILES = 10_000
MAX_ARTIFACT_BYTES = 8 * 1024 * 1024 * 1024
_MARKERS = ("mlruns", "mlartifacts")
_CHUNK = 1024 * 1024


def artifact_folder(root: Path, store: Path, uri: str) -> str | None:
    """The repository-relative folder holding a run's artifacts, if it is in the repository."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    raw = unquote(parsed.path) if parsed.scheme == "file" else uri
    for candidate in _candidates(root, store, raw):
        try:
            relative = normalise(root, candidate)
        except PathEscape:
            continue
        if os.path.isdir(root / relative):  # False for any error (a name too long, ...)
            return relative
    return None


def _candidates(root: Path, store: Path, raw: str) -> list[str]:
    found: list[str] = []
    real_root = os.path.realpath(root)
    if os.path.isabs(raw) and os.path.realpath(raw).startswith(real_root + os.sep):
        found.append(os.path.relpath(os.path.realpath(raw), real_root))
    parts = PurePosixPath(raw.replace("\\", "/")).parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] in _MARKERS:
            beside = store if store.name == parts[index] else store.parent / parts[index]
            found.append(str((beside / PurePosixPath(*parts[index + 1 :])).relative_to(root)))
            break
    return found


def digests(root: Path, folder: str) -> set[str]:
    """The sha256 of every regular file under ``folder`` (symlinks are not followed)."""
    found: set[str] = set()
    for current, dirs, files in os.walk(root / folder):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(current, d))]
        for name in files[: MAX_RUN_FILES - len(found)]:
            digest = _sha256(Path(current) / name)
            if digest is not None:
                found.add(digest)
    return found


def _sha256(path: Path) -> str | None:
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ARTIFACT_BYTES:
        return None
    digest = hashlib.sha256()
    with inputs.open_binary(path, follow=False) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
