"""``--report FORMAT=FILE``: every report of one run comes from that one evaluation."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from policy_engine.cli.common import REPORT_FORMATS
from policy_engine.cli.main import main

pytestmark = pytest.mark.slow  # the command end to end, over real repositories

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TAMPERED = FIXTURES / "example-ml-tampered"
COMPLIANT = FIXTURES / "example-ml"
DETERMINISTIC = ("json", "sarif", "junit", "markdown")  # text may show progress and times
GIT = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
GIT_ENV = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
GIT_ENV |= {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def reports(tmp_path: Path) -> tuple[list[str], dict[str, Path]]:
    files = {fmt: tmp_path / f"report.{fmt}" for fmt in DETERMINISTIC}
    return [f"--report={fmt}={file}" for fmt, file in files.items()], files


def test_check_writes_each_report_as_its_own_format_would(tmp_path: Path) -> None:
    options, files = reports(tmp_path)
    combined = mlpolicy("check", TAMPERED, "--at", "2026-11-20", *options)
    assert combined.exit_code == 1
    for fmt, file in files.items():
        alone = mlpolicy("check", TAMPERED, "--at", "2026-11-20", "--format", fmt)
        assert file.read_text() == alone.stdout, fmt


def test_diff_writes_each_report_as_its_own_format_would(tmp_path: Path) -> None:
    top = tmp_path / "project"
    shutil.copytree(COMPLIANT, top)
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run([*GIT, *args], cwd=top, env=env, check=True)
    (top / "metrics" / "eval.json").write_text('{"accuracy": 1.0}\n')
    options, files = reports(tmp_path)
    combined = mlpolicy("diff", top, "--base", "HEAD", *options)
    assert combined.exit_code == 1
    for fmt, file in files.items():
        alone = mlpolicy("diff", top, "--base", "HEAD", "--format", fmt)
        assert file.read_text() == alone.stdout, fmt


@pytest.mark.parametrize("value", ["json", "yaml=out.yaml", "json="])
def test_a_malformed_report_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = mlpolicy("check", COMPLIANT, "--report", value)
    assert result.exit_code == 2
    assert "--report" in result.output


def test_the_formats_are_the_reporters() -> None:
    from policy_engine.report import DIFF_REPORTERS, REPORTERS

    assert set(REPORT_FORMATS) == set(REPORTERS) == set(DIFF_REPORTERS)
