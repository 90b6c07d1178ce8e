"""Run the ``mlpolicy`` command line and record every path it opens or lists.

``python tests/hostile/audited.py LOG ARGS...`` runs ``mlpolicy ARGS...`` under a
Python audit hook (:func:`sys.addaudithook`): for every ``open`` (``open()``,
``os.open``, ``io.open``), ``os.listdir`` and ``os.scandir`` event it writes the
path as given, made absolute, and the path it resolves to (symlinks followed),
one a line, to ``LOG``. Anything the process reads through Python, DVC's and
the libraries' reads included, goes through one of these events.

Tests call :func:`run` and :func:`opened_under`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # seconds: a hang is a failure, not a stuck suite
EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


def recorder(log: TextIO) -> Any:
    """The audit hook writing the paths of :data:`EVENTS` to ``log``."""

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in EVENTS or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return  # an open by descriptor, or a listing of the working folder
        try:
            path = os.path.abspath(os.fsdecode(args[0]))
            log.write(f"{path}\n{os.path.realpath(path)}\n")
        except (OSError, ValueError):
            log.write(f"{args[0]!r}\n")

    return hook


def run(
    args: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``mlpolicy ARGS`` in a child process, the paths it opened or listed written to ``log``
    (``env`` is added to this process's environment)."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    command = [sys.executable, __file__, str(log), *args]
    return subprocess.run(
        command, capture_output=True, text=True, errors="replace", env=env, timeout=TIMEOUT, cwd=cwd
    )


def opened_under(log: Path, folder: Path) -> list[str]:
    """The paths of ``log`` that are ``folder`` or lie under it (``folder`` resolved)."""
    real = os.path.realpath(folder)
    lines = log.read_text(encoding="utf-8").splitlines()
    return sorted({p for p in lines if p == real or p.startswith(real + os.sep)})


def main() -> None:
    log = open(sys.argv[1], "w", encoding="utf-8", buffering=1)  # noqa: SIM115  # kept open
    sys.argv = ["mlpolicy", *sys.argv[2:]]
    sys.addaudithook(recorder(log))
    from policy_engine.cli.main import main as mlpolicy

    mlpolicy()


if __name__ == "__main__":
    main()
