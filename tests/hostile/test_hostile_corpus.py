"""The hostile-repository corpus (``cases.yaml``, built by ``build.py``) run end to end
through the real command line (``mlpolicy check REPO``, or the case's ``command``), in a
child process that records every path it opens or lists (``audited.py``): a case with
``reads_outside: false`` fails if one of them lies in the folder outside the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audited import opened_under, run
from build import PLACEHOLDERS, SECRET, build, load_cases

ECHOES = (SECRET, "7" * 300, "a/" * 300, "(" * 300, "x, x, x")


def _param(name: str, case: dict[str, Any]) -> Any:
    marks = [] if case.get("fast") else [pytest.mark.slow]
    if "xfail" in case:
        marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
    return pytest.param(name, marks=marks, id=name)


CASES = load_cases()


def run_case(case: dict[str, Any], repo: Path, log: Path) -> subprocess.CompletedProcess[str]:
    """The case's command (default ``check {repo}``), ``{repo}`` and ``{outside}`` expanded."""
    outside = str(repo.parent / "outside")
    args = case.get("command", ["check", "{repo}"])
    args = [a.replace("{repo}", str(repo)).replace("{outside}", outside) for a in args]
    return run(args, log, cwd=log.parent)


@pytest.mark.parametrize("name", [_param(name, case) for name, case in CASES.items()])
def test_a_hostile_repository_gives_its_outcome(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    repo = build(case, tmp_path / name)
    log = tmp_path / "opened.txt"
    result = run_case(case, repo, log)
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
