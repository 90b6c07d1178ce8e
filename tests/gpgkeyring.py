"""A writable copy of a GPG keyring for tests that sign with ``gpg``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def keyring_copy(keyring: Path, folder: Path) -> Iterator[Path]:
    """``keyring`` copied to ``folder`` with the modes gpg accepts; the gpg-agent that
    signing starts in it is stopped on leaving."""
    shutil.copytree(keyring, folder)
    for path in (folder, *folder.iterdir()):
        path.chmod(0o700 if path.is_dir() else 0o600)
    try:
        yield folder
    finally:
        if shutil.which("gpgconf"):
            argv = ["gpgconf", "--homedir", str(folder), "--kill", "gpg-agent"]
            subprocess.run(argv, capture_output=True, check=False)
