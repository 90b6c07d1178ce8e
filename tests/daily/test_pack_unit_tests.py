"""The MLSecOps pack is tested like code: its unit tests cover every control, failing and
passing, and `mlpolicy test --coverage --fail-under 100` enforces it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from policy_engine.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _test(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["test", *args])
    return result.exit_code, result.output


def test_the_pack_tests_cover_every_control_failing_and_passing() -> None:
    code, output = _test("--repo", str(ROOT), "--coverage", "--fail-under", "100")
    assert code == 0, output
    assert "coverage: 100.0% (50 of 50 outcomes)" in output
    assert "FAIL" not in output and " NO" not in output


def test_coverage_below_the_threshold_fails_and_says_which_control() -> None:
    example = ROOT / "fixtures" / "example-ml"
    code, output = _test("--repo", str(example), "--fail-under", "100")
    assert code == 1
    assert "  TR-01            fail NO   pass yes" in output
    assert "coverage: 80.0% (8 of 10 outcomes), below --fail-under 100" in output


def test_coverage_is_only_shown_when_asked() -> None:
    code, output = _test("--repo", str(ROOT / "fixtures" / "example-ml"))
    assert code == 0 and "coverage" not in output
