"""Key sets: every key file a glob matches inside the repository (``keys NAME from "GLOB"``).

The glob is relative to the repository root and may not leave it: no absolute
path, no ``..``, and the folder it starts from must resolve inside the
repository. Folders are searched recursively without entering symlinked ones;
a matching file that is a symlink must resolve to a regular file inside the
repository. At most :data:`MAX_KEYS` files; each key file is read (bounded) by
:func:`policy_engine.gpgkeys.load_key`, an armored OpenPGP export too. One key in
two encodings (two files whose material computes the same id) is one member.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from policy_engine import globs
from policy_engine.files import unusable_path
from policy_engine.gpgkeys import load_key
from policy_engine.keys import KeyLoadError, PublicKey

MAX_KEYS = 256
_WILD = frozenset("*?[")


class KeySetError(ValueError):
    """The glob leaves the repository, matches nothing usable, or too much."""


def load_key_set(root: Path, pattern: str) -> dict[str, PublicKey]:
    """Member name (the file's path under the glob's folder) -> key, one per distinct key."""
    members: dict[str, PublicKey] = {}
    seen: set[str] = set()
    base = _base(PurePosixPath(pattern).as_posix())
    for path in key_files(root, pattern):
        try:
            key = load_key(root / path)
        except KeyLoadError as exc:
            raise KeySetError(f"`{path}`: {exc}") from None
        if key.keyid not in seen:
            seen.add(key.keyid)
            members[PurePosixPath(path).relative_to(base).as_posix()] = key
    return members


def confined_file(root: Path, written: str) -> Path:
    """The file a policy names (a key, a CA, a trusted root), refused unless it is a regular
    file inside the repository: relative, no ``..``, no symlink leaving it."""
    path = PurePosixPath(written).as_posix()
    _base(path)
    real_root = os.path.realpath(root)
    if os.path.lexists(os.path.join(real_root, path)):  # a missing file: the loader says so
        _check_file(os.path.join(real_root, path), path, real_root)
    return root / path


def confined_path(root: Path, written: str) -> Path:
    """A file or folder a policy names, refused unless it stays in the repository:
    relative, no ``..``, not resolving (through a symlink) outside it."""
    path = PurePosixPath(written).as_posix()
    _base(path)
    real_root = os.path.realpath(root)
    if not _inside(os.path.realpath(os.path.join(real_root, path)), real_root):
        raise KeySetError(f"`{path}` leaves the repository")
    return root / path


def key_files(root: Path, pattern: str) -> list[str]:
    """Repository-relative paths of the regular files ``pattern`` matches (see above)."""
    pattern = PurePosixPath(pattern).as_posix()
    base = _base(pattern)
    real_root = os.path.realpath(root)
    folder = os.path.join(real_root, base)
    if not _inside(os.path.realpath(folder), real_root):
        raise KeySetError(f"`{base}` leaves the repository")
    if not os.path.isdir(folder):
        raise KeySetError(f"folder `{base}` not found in the repository")
    found = [p for p in _walk(folder, real_root) if globs.matches(pattern, p)]
    if not found:
        raise KeySetError(f"no key file matches `{pattern}`")
    if len(found) > MAX_KEYS:
        raise KeySetError(f"`{pattern}` matches {len(found)} files; at most {MAX_KEYS} keys")
    for path in found:
        _check_file(os.path.join(real_root, path), path, real_root)
    return found


def _base(pattern: str) -> str:
    """The literal folder a glob starts from; refuses absolute paths and ``..``."""
    unusable = unusable_path(pattern)
    if unusable is not None:
        raise KeySetError(unusable)
    parts = PurePosixPath(pattern).parts
    if pattern.startswith(("/", "\\")) or os.path.isabs(pattern) or "\\" in pattern:
        raise KeySetError(f"`{pattern}` must be relative to the repository")
    if ".." in parts:
        raise KeySetError(f"`{pattern}` leaves the repository (`..`)")
    literal = []
    for part in parts[:-1]:
        if _WILD & set(part):
            break
        literal.append(part)
    return PurePosixPath(*literal).as_posix() if literal else "."


def _walk(folder: str, root: str) -> list[str]:
    out: list[str] = []
    for current, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(current, d)))
        for name in sorted(filenames):
            out.append(Path(os.path.relpath(os.path.join(current, name), root)).as_posix())
    return out


def _check_file(path: str, shown: str, root: str) -> None:
    if not _inside(os.path.realpath(path), root):
        raise KeySetError(f"`{shown}` is a symlink leaving the repository")
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise KeySetError(f"`{shown}`: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise KeySetError(f"`{shown}` is not a regular file")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
