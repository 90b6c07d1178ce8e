"""Running ``python -m policy_engine`` in a child and seeing what it imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_module(argv: list[str], modules: tuple[str, ...], cwd: Path | None = None) -> str:
    """What ``python -m policy_engine ARGV`` prints, then its exit status and which of
    ``modules`` it imported (the program's final ``os._exit`` turned back into an exit)."""
    probe = (
        "import os, sys, runpy\n"
        "def leave(code):\n    raise SystemExit(code)\n"
        "os._exit = leave\n"
        f"sys.argv = {['mlpolicy', *argv]!r}\n"
        "try:\n    runpy.run_module('policy_engine', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        f"print(code, sorted(m for m in {modules!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True)
    return done.stdout + done.stderr
