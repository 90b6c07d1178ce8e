"""`mlpolicy test`: run the policy unit tests next to the policies."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from policy_engine.cli.common import (
    EXIT_OK,
    EXIT_VIOLATIONS,
    PATH,
    load_or_exit,
    policy_option,
    repo_option,
)


@click.command("test")
@click.argument("paths", nargs=-1, type=PATH)
@repo_option("its policies are tested")
@policy_option()
def test_command(paths: tuple[Path, ...], repo: Path, policies: tuple[Path, ...]) -> None:
    """Run policy unit tests (`*.policytest.yaml`; default: under REPO/policies)."""
    from policy_engine.loader import display_name
    from policy_engine.testing.runner import find_test_files, run_files

    loaded = load_or_exit(repo, policies)
    assert loaded.policy is not None
    files = find_test_files(list(paths) or [repo / "policies"])
    if not files:
        click.echo("no `*.policytest.yaml` files found", err=True)
        sys.exit(EXIT_VIOLATIONS)
    report = run_files(files, loaded.policy, lambda p: display_name(p, repo))
    for result in report.results:
        click.echo(f"{'PASS' if result.passed else 'FAIL'}  {result.file}: {result.name}")
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
    sys.exit(EXIT_OK if report.passed else EXIT_VIOLATIONS)
