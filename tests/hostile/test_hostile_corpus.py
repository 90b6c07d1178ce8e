"""The hostile-repository corpus (``cases.yaml``, built by ``build.py``) run end to end
through the real command line, ``python -m policy_engine check REPO``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PLACEHOLDERS, SECRET, build, load_cases

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # seconds: a hang is a failure, not a stuck suite
ECHOES = (SECRET, "7" * 300, "a/" * 300, "(" * 300, "x, x, x")


def _param(name: str, case: dict[str, Any]) -> Any:
    marks = [] if case.get("fast") else [pytest.mark.slow]
    if "xfail" in case:
        marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
    return pytest.param(name, marks=marks, id=name)


CASES = load_cases()


def run_check(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    command = [sys.executable, "-m", "policy_engine", "check", str(repo)]
    return subprocess.run(
        command, capture_output=True, text=True, errors="replace", env=env, timeout=TIMEOUT
    )


@pytest.mark.parametrize("name", [_param(name, case) for name, case in CASES.items()])
def test_a_hostile_repository_gives_its_outcome(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    repo = build(case, tmp_path / name)
    result = run_check(repo)
    output = result.stdout + result.stderr
    assert result.returncode == case["exit"], output[-3000:]
    for expected in case.get("output", []):
        assert expected in output, output[-3000:]
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    for echoed in (*ECHOES, *PLACEHOLDERS.values()):
        assert echoed not in output


def test_every_case_makes_one_change_and_declares_its_outcome() -> None:
    assert len(CASES) >= 25
    for name, case in CASES.items():
        assert len(case["changes"]) == 1, name
        assert case["exit"] in (1, 2), name
    assert [n for n, c in CASES.items() if c.get("fast")], "no fast subset"
