"""`mlpolicy explain`: why controls passed or failed, as a tree from the rule to the evidence."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from policy_engine.cli.common import (
    EXIT_CANNOT_JUDGE,
    EXIT_OK,
    EXIT_VIOLATIONS,
    PATH,
    at_option,
    attestation_paths,
    attestations_option,
    emit,
    load_or_exit,
    no_cache_option,
    output_option,
    policy_option,
    utc,
)
from policy_engine.errors import InputError


@click.command()
@click.argument("repo", required=False, type=PATH, default=Path("."))
@click.option(
    "--control",
    "-c",
    "controls",
    multiple=True,
    metavar="ID",
    help="Control id or glob to explain (repeatable; default: every control).",
)
@click.option(
    "--subject",
    "-s",
    "subjects",
    multiple=True,
    metavar="GLOB",
    help="Only these subjects (artifact paths, step names; repeatable).",
)
@policy_option()
@attestations_option()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@output_option("explanation")
@at_option()
@no_cache_option
def explain(
    repo: Path,
    controls: tuple[str, ...],
    subjects: tuple[str, ...],
    policies: tuple[Path, ...],
    attestations: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    at: datetime | None,
    no_cache: bool,
) -> None:
    """Show why controls of REPO (default: .) passed or failed.

    Each control is a tree: its rules, the subjects each selected, the parts of
    the predicate with their verdicts, and the evidence behind them. The JSON
    has the same tree.

    Exit status: 0 every control explained passed (or is waived); 1 one failed;
    2 usage error, invalid policy, no control matched, or a rule could not be judged.
    """
    from policy_engine.api import explain as run_explain
    from policy_engine.report.explain import EXPLAIN_REPORTERS

    if not repo.is_dir():
        raise InputError("repository folder not found", str(repo))
    loaded = load_or_exit(repo, policies)
    assert loaded.policy is not None
    explanation = run_explain(
        loaded.policy,
        repo,
        attestation_paths(repo, attestations),
        utc(at),
        controls=controls,
        subjects=subjects,
        hash_cache=not no_cache,
    )
    if not explanation.controls:
        raise InputError("no control matches", ", ".join(controls))
    emit(EXPLAIN_REPORTERS[fmt](explanation), output, plain=fmt != "text")
    statuses = {c.status for c in explanation.controls}
    code = EXIT_VIOLATIONS if "fail" in statuses else EXIT_OK
    sys.exit(EXIT_CANNOT_JUDGE if "undecided" in statuses else code)
