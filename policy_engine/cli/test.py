"""`mlpolicy test`: run the policy unit tests next to the policies."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from policy_engine.cli.common import (
    EXIT_OK,
    EXIT_VIOLATIONS,
    PATH,
    in_repository,
    load_or_exit,
    policy_option,
    repo_option,
)
from policy_engine.cli.style import color_enabled, echo

if TYPE_CHECKING:
    from policy_engine.testing.coverage import Coverage
    from policy_engine.testing.runner import PolicyTestReport


@click.command("test")
@click.argument("paths", nargs=-1, type=PATH)
@repo_option("its policies are tested")
@policy_option()
@click.option(
    "--coverage", is_flag=True, help="Show which controls the tests show failing and passing."
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Fail when coverage is below PERCENT (implies --coverage).",
)
def test_command(
    paths: tuple[Path, ...],
    repo: Path,
    policies: tuple[Path, ...],
    coverage: bool,
    fail_under: float | None,
) -> None:
    """Run policy unit tests (`*.policytest.yaml`; default: under REPO/policies).

    Coverage counts, for every control, whether a passing test expects a finding of
    it and whether one shows it passing on at least one subject.

    Exit status: 0 every test passed (and coverage is at least --fail-under);
    1 a test failed, no test was found, or coverage is too low; 2 invalid policy
    or test file.
    """
    from policy_engine.loader import display_name
    from policy_engine.testing.runner import find_test_files, run_files

    loaded = load_or_exit(repo, policies)
    assert loaded.policy is not None
    files = find_test_files(list(paths) or in_repository(repo, [repo / "policies"], "test path"))
    if not files:
        click.echo("no `*.policytest.yaml` files found", err=True)
        sys.exit(EXIT_VIOLATIONS)
    report = run_files(files, loaded.policy, lambda p: display_name(p, repo))
    _echo_results(report)
    low = fail_under is not None and report.coverage.percent < fail_under
    if coverage or fail_under is not None:
        _echo_coverage(report.coverage, fail_under)
    sys.exit(EXIT_OK if report.passed and not low else EXIT_VIOLATIONS)


def _echo_results(report: PolicyTestReport) -> None:
    for result in report.results:
        line = f"{'PASS' if result.passed else 'FAIL'}  {result.file}: {result.name}"
        echo(line, color_enabled())
        for expected in result.missing:
            click.echo(f"        missing:    {expected}")
        for finding in result.unexpected:
            waived = " (waived)" if finding.waived else ""
            click.echo(
                f"        unexpected: {finding.control} on `{finding.subject}`{waived}: "
                f"{finding.message}"
            )
    failed = sum(not r.passed for r in report.results)
    click.echo(f"\n{len(report.results) - failed} passed, {failed} failed")
    if report.unexercised:
        click.echo("controls no test expects a finding of: " + ", ".join(report.unexercised))


def _echo_coverage(coverage: Coverage, fail_under: float | None) -> None:
    click.echo("\ncoverage (a passing test shows the control failing / passing):")
    for c in coverage.controls:
        fails, passes = ("yes" if shown else "NO" for shown in (c.fails, c.passes))
        click.echo(f"  {c.control:<16} fail {fails:<3}  pass {passes}")
    total = 2 * len(coverage.controls)
    line = f"coverage: {coverage.percent:.1f}% ({coverage.covered} of {total} outcomes)"
    if fail_under is not None and coverage.percent < fail_under:
        line += f", below --fail-under {fail_under:g}"
    click.echo(line)
