"""`mlpolicy verify`: in-toto-verify's lists of values, exit statuses and the shared reporters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy_engine.cli.main import main
from policy_engine.cli.verify_layout import expand_lists

GOLANG = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "in-toto-golang"
DATA = GOLANG / "test" / "data"


def test_lists_as_in_toto_takes_them() -> None:
    args = [
        "--layout",
        "l",
        "--verification-keys",
        "a",
        "b",
        "--link-dir",
        "d",
        "--param",
        "x=1",
        "y=2",
    ]
    assert expand_lists(args, ["model"]) == [
        "--layout",
        "l",
        "--verification-keys",
        "a",
        "--verification-keys",
        "b",
        "--link-dir",
        "d",
        "--param",
        "x=1",
        "--param",
        "y=2",
    ]
    assert expand_lists(["-k", "a", "model", "x"], ["model"]) == ["-k", "a", "model", "x"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["verify", "--verification-keys", str(tmp_path / "k")])
    assert result.exit_code == 2 and "--layout" in result.output
    result = CliRunner().invoke(main, ["verify", "--layout", "x", "--param", "novalue"])
    assert result.exit_code == 2


@pytest.mark.skipif(not GOLANG.is_dir(), reason=f"shared corpus not present at {GOLANG}")
@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_reports_through_the_check_reporters(fmt: str) -> None:
    args = [
        "verify",
        "--layout",
        str(DATA / "demo.layout"),
        "--verification-keys",
        str(DATA / "alice.pub"),
        "--link-dir",
        str(DATA),
        "--skip-inspections",
        "--at",
        "2031-01-01T00:00:00",
        "--format",
        fmt,
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    report = json.loads(result.output)
    if fmt == "json":
        controls = {f["control"] for f in report["findings"]}
        assert {"in-toto/layout-expired", "in-toto/inspection-skipped"} <= controls
    else:
        rules = {r["ruleId"] for r in report["runs"][0]["results"]}
        assert "in-toto/layout-expired" in rules


@pytest.mark.skipif(not GOLANG.is_dir(), reason=f"shared corpus not present at {GOLANG}")
def test_text_names_each_problem_and_the_verdict() -> None:
    args = [
        "verify",
        "--layout",
        str(DATA / "demo.layout"),
        "--verification-keys",
        str(DATA / "alice.pub"),
        "--link-dir",
        str(DATA),
        "--at",
        "2025-01-01T00:00:00",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "inspection `untar` would run `tar xfz foo.tar.gz`" in result.output
    assert result.output.rstrip().endswith("NOT JUDGED (1 problem(s))")
