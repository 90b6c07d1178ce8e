"""`mlpolicy check`: evaluate the policies against the repository's provenance graph."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from policy_engine.cli.common import EXIT_OK, EXIT_VIOLATIONS, PATH, emit, load_or_exit
from policy_engine.cli.graph import echo_notes
from policy_engine.errors import InputError
from policy_engine.lifecycle import SEVERITIES, severity_rank

FORMATS = ("text", "json", "sarif", "junit", "markdown")


@click.command()
@click.argument("repo", required=False, type=PATH, default=Path("."))
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=PATH,
    help="Policy file or folder (repeatable; default: REPO/policies).",
)
@click.option(
    "--attestations",
    multiple=True,
    type=PATH,
    help="Attestation file, bundle or folder searched recursively (repeatable).",
)
@click.option("--no-cache", is_flag=True, help="Hash every file; do not use the hash cache.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report here instead of standard output.",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="low",
    show_default=True,
    help="Lowest severity that makes the check fail.",
)
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    help="Evaluate as of this time (UTC unless given): freshness windows and waivers.",
)
def check(
    repo: Path,
    policies: tuple[Path, ...],
    attestations: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    fail_on: str,
    at: datetime | None,
    no_cache: bool,
) -> None:
    """Evaluate the policies against the provenance graph of REPO (default: .)."""
    from policy_engine.api import check as run_check
    from policy_engine.report import REPORTERS

    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    if not repo.is_dir():
        raise InputError("repository folder not found", str(repo))
    loaded = load_or_exit(repo, policies)
    assert loaded.policy is not None
    result = run_check(
        loaded.policy, repo, attestations, now=at, hash_cache=not no_cache, progress=fmt == "text"
    )
    echo_notes(result.graph)
    emit(REPORTERS[fmt](result, str(repo)), output)
    threshold = severity_rank(fail_on)
    failing = [f for f in result.evaluation.active if severity_rank(f.severity) >= threshold]
    sys.exit(EXIT_VIOLATIONS if failing else EXIT_OK)
