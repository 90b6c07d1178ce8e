"""Run the ``mlpolicy`` command line and record every path it opens or lists.

``python tests/hostile/audited.py LOG ARGS...`` runs ``mlpolicy ARGS...`` under a
Python audit hook (:func:`sys.addaudithook`): for every ``open`` (``open()``,
``os.open``, ``io.open``), ``os.listdir`` and ``os.scandir`` event it writes the
path as given, made absolute, and the path it resolves to (symlinks followed),
one a line, to ``LOG``. Anything the process reads through Python, DVC's and
the libraries' reads included, goes through one of these events.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

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


def main() -> None:
    log = open(sys.argv[1], "w", encoding="utf-8", buffering=1)  # noqa: SIM115  # kept open
    sys.argv = ["mlpolicy", *sys.argv[2:]]
    sys.addaudithook(recorder(log))
    from policy_engine.cli.main import main as mlpolicy

    mlpolicy()


if __name__ == "__main__":
    main()
