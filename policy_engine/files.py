"""Files the engine writes itself (replaced atomically; the user's cache and config
folders), and the paths no file can have."""

from __future__ import annotations

import os
from pathlib import Path

MAX_PATH_CHARS = 4096  # PATH_MAX on Linux: no longer path names a file


def unusable_path(raw: str) -> str | None:
    """Why no file can have path ``raw`` (a NUL byte, too long), or None; never repeats it."""
    if "\0" in raw:
        return "a path contains a NUL byte"
    if len(raw) > MAX_PATH_CHARS:
        return f"a path is longer than {MAX_PATH_CHARS} characters"
    return None


def _user_dir(ours: str, xdg: str, default: str) -> Path:
    """``$ours``, else ``${xdg:-~/default}/mlpolicy``."""
    configured = os.environ.get(ours)
    if configured:
        return Path(configured)
    base = os.environ.get(xdg) or os.path.join(os.path.expanduser("~"), default)
    return Path(base) / "mlpolicy"


def cache_dir() -> Path:
    """``$MLPOLICY_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/mlpolicy``."""
    return _user_dir("MLPOLICY_CACHE_DIR", "XDG_CACHE_HOME", ".cache")


def config_dir() -> Path:
    """``$MLPOLICY_CONFIG_DIR``, else ``${XDG_CONFIG_HOME:-~/.config}/mlpolicy``."""
    return _user_dir("MLPOLICY_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")


def key_dir() -> Path:
    """Where private keys go by default: ``$MLPOLICY_KEY_DIR``, else ``config_dir()/keys``."""
    configured = os.environ.get("MLPOLICY_KEY_DIR")
    return Path(configured) if configured else config_dir() / "keys"


def git_work_tree(path: Path) -> Path | None:
    """The top of the git work tree ``path`` is in (a folder with ``.git``), if any."""
    for folder in (path.absolute(), *path.absolute().parents):
        if (folder / ".git").exists():
            return folder
    return None


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` by ``data``: a temporary file in the same folder, then ``os.replace``.

    The file gets ``mode`` (set before anything is written), else the temporary file's 0600.
    """
    import tempfile  # not at the top: commands that write nothing (verify) need not load it

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(handle, "wb") as out:
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
