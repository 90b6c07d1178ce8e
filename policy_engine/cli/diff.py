"""`mlpolicy diff --base REF`: what a change makes better or worse, for pre-merge gates."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from policy_engine.cli.common import (
    EXIT_OK,
    EXIT_VIOLATIONS,
    PATH,
    REPORT_FORMATS,
    at_option,
    attestations_option,
    echo_notes,
    emit,
    emit_reports,
    fail,
    fail_on_option,
    output_option,
    policy_option,
    report_option,
    utc,
)


@click.command()
@click.argument("repo", required=False, type=PATH, default=Path("."))
@click.option("--base", required=True, metavar="REF", help="Git revision to compare against.")
@click.option(
    "--head",
    metavar="REF",
    help="Git revision to evaluate (default: the working tree, uncommitted changes included).",
)
@policy_option("REPO/policies; read at each revision")
@click.option(
    "--policy-from",
    type=click.Choice(["base", "head"]),
    default="base",
    show_default=True,
    help="Whose policy and trusted keys judge both revisions (head: for policy-authoring "
    "branches; a policy change is then reported, and does not fail).",
)
@click.option(
    "--allow-policy-change",
    is_flag=True,
    help="A change to the policy files or trusted keys does not fail the diff (it is reported).",
)
@attestations_option(", at each revision")
@click.option(
    "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text", show_default=True
)
@output_option()
@report_option()
@fail_on_option("new finding", configured=False)
@click.option(
    "--fail-on-unchanged",
    is_flag=True,
    help="Findings the base already had fail too (at or above --fail-on).",
)
@at_option(" both revisions")
def diff(
    repo: Path,
    base: str,
    head: str | None,
    policies: tuple[Path, ...],
    policy_from: str,
    allow_policy_change: bool,
    attestations: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    reports: tuple[tuple[str, Path], ...],
    fail_on: str,
    fail_on_unchanged: bool,
    at: datetime | None,
) -> None:
    """Compare the findings of REPO (default: .) at a base revision and at the head.

    Both revisions are judged with the base's policy and trusted keys (what was
    reviewed and merged), unless --policy-from head; a base without a policy is
    judged with the head's. Findings are new, fixed or unchanged, matched by
    control, rule, subject and kind. Exit 1 when a new finding (or, with
    --fail-on-unchanged, any finding) is at or above --fail-on, or when the policy
    files or trusted keys changed (unless --allow-policy-change or --policy-from head).
    No configuration file is read: a pull request could change it.

    Exit status: 0 no new finding at or above --fail-on and no failing policy change;
    1 new findings or a policy change; 2 not a git repository, a bad revision, an
    invalid policy at the head, or an input the head could not be judged on.
    """
    from policy_engine.diagnostics import render_all
    from policy_engine.premerge import DiffRequest, InvalidPolicy, run_diff
    from policy_engine.report import DIFF_REPORTERS

    request = DiffRequest(
        repo=repo,
        base=base,
        head=head,
        policies=policies,
        attestations=attestations,
        fail_on=fail_on,
        fail_on_unchanged=fail_on_unchanged,
        now=utc(at),
        policy_from=policy_from,
        allow_policy_change=allow_policy_change,
    )
    try:
        result = run_diff(request)
    except InvalidPolicy as invalid:
        click.echo(render_all(invalid.loaded.diagnostics, invalid.loaded.sources), err=True)
        fail("the head's policy is invalid; nothing was compared")
    if result.loaded.diagnostics:
        click.echo(render_all(result.loaded.diagnostics, result.loaded.sources), err=True)
    echo_notes(result.result.graph)
    emit(DIFF_REPORTERS[fmt](result), output)
    emit_reports(reports, lambda name: DIFF_REPORTERS[name](result))
    sys.exit(EXIT_VIOLATIONS if result.fails else EXIT_OK)
