"""The hostile-repository corpus (``cases.yaml``, built by ``build.py``) run end to end
through the real command line (``mlpolicy check REPO``, or the case's ``command``), in a
child process that records every path it opens or lists (``audited.py``): a case with
``reads_outside: false`` fails if one of them lies in the folder outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PLACEHOLDERS, SECRET, build, load_cases

HERE = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # seconds: a hang is a failure, not a stuck suite
ECHOES = (SECRET, "7" * 300, "a/" * 300, "(" * 300, "x, x, x")


def _param(name: str, case: dict[str, Any]) -> Any:
    marks = [] if case.get("fast") else [pytest.mark.slow]
    if "xfail" in case:
        marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
    return pytest.param(name, marks=marks, id=name)


CASES = load_cases()


def run_mlpolicy(
    repo: Path, args: list[str], log: Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``mlpolicy ARGS`` (``{repo}`` and ``{outside}`` expanded), its opened paths in ``log``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    outside = str(repo.parent / "outside")
    args = [a.replace("{repo}", str(repo)).replace("{outside}", outside) for a in args]
    command = [sys.executable, str(HERE / "audited.py"), str(log), *args]
    return subprocess.run(
        command, capture_output=True, text=True, errors="replace", env=env, timeout=TIMEOUT, cwd=cwd
    )


def opened_under(log: Path, folder: Path) -> list[str]:
    """The paths of ``log`` (see ``audited.py``) that are ``folder`` or lie under it."""
    real = os.path.realpath(folder)
    lines = log.read_text(encoding="utf-8").splitlines()
    return sorted({p for p in lines if p == real or p.startswith(real + os.sep)})


@pytest.mark.parametrize("name", [_param(name, case) for name, case in CASES.items()])
def test_a_hostile_repository_gives_its_outcome(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    repo = build(case, tmp_path / name)
    log = tmp_path / "opened.txt"
    result = run_mlpolicy(repo, case.get("command", ["check", "{repo}"]), log, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == case["exit"], output[-3000:]
    for expected in case.get("output", []):
        assert expected in output, output[-3000:]
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    for echoed in (*ECHOES, *PLACEHOLDERS.values()):
        assert echoed not in output
    outside = opened_under(log, repo.parent / "outside")
    assert bool(outside) == case["reads_outside"], outside


def test_every_case_is_one_hostile_change_and_declares_its_outcome() -> None:
    assert len(CASES) >= 25
    for name, case in CASES.items():
        assert 1 <= len(case["changes"]) <= 2, name
        assert case["exit"] in (0, 1, 2), name
        assert isinstance(case["reads_outside"], bool), name
    assert [n for n, c in CASES.items() if c.get("fast")], "no fast subset"
    assert [n for n, c in CASES.items() if c["reads_outside"]], "no case shows a read is seen"
