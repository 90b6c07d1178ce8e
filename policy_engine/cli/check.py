"""`mlpolicy check`: evaluate the policies against the repository's provenance graph."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from policy_engine.cli.common import (
    EXIT_OK,
    EXIT_VIOLATIONS,
    PATH,
    REPORT_FORMATS,
    at_option,
    attestation_paths,
    attestations_option,
    echo_notes,
    emit,
    emit_reports,
    fail,
    fail_on_of,
    fail_on_option,
    load_or_exit,
    no_cache_option,
    output_option,
    policy_option,
    repo_config,
    report_option,
    utc,
)
from policy_engine.cli.style import quiet
from policy_engine.errors import InputError
from policy_engine.lifecycle import severity_rank

if TYPE_CHECKING:
    from policy_engine.evaluate import Undecided


def undecided_message(undecided: tuple[Undecided, ...]) -> str:
    """Why the run could not judge: the artifacts and rules, and the way out."""
    subjects = ", ".join(f"`{s}`" for s in sorted({u.subject for u in undecided}))
    return (
        f"could not judge {len(undecided)} rule(s) on {subjects}: their bytes are not "
        "materialised (not in the workspace nor the DVC cache) and their signatures name no "
        "digest the DVC lock records; run `dvc pull`, sign DVC's md5 (`mlpolicy attest link`), "
        "or declare `on unjudged fail` in the policy"
    )


@click.command()
@click.argument("repo", required=False, type=PATH, default=Path("."))
@policy_option()
@attestations_option()
@no_cache_option
@click.option(
    "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text", show_default=True
)
@output_option()
@report_option()
@fail_on_option()
@at_option()
@click.option(
    "--dvc-cache/--no-dvc-cache",
    default=None,
    help="Read outputs missing from the workspace from the DVC cache (default: yes, or the "
    "configuration's `dvc-cache`).",
)
def check(
    repo: Path,
    policies: tuple[Path, ...],
    attestations: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    reports: tuple[tuple[str, Path], ...],
    fail_on: str | None,
    at: datetime | None,
    no_cache: bool,
    dvc_cache: bool | None,
) -> None:
    """Evaluate the policies against the provenance graph of REPO (default: .).

    Options not given come from the repository's configuration (`.mlpolicy.toml`
    or `[tool.mlpolicy]` in pyproject.toml; docs/cli.md, "Configuration").

    Exit status: 0 no finding at or above --fail-on; 1 findings; 2 usage error,
    invalid policy, or an input that could not be read or judged.
    """
    from policy_engine.api import check as run_check
    from policy_engine.report import REPORTERS

    if not repo.is_dir():
        raise InputError("repository folder not found", str(repo))
    loaded = load_or_exit(repo, policies)
    assert loaded.policy is not None
    if not loaded.policy.controls:
        fail("the policy declares no control: nothing would be checked, so nothing can pass")
    result = run_check(
        loaded.policy,
        repo,
        attestation_paths(repo, attestations),
        utc(at),
        hash_cache=not no_cache,
        progress=fmt == "text" and not quiet(),
        dvc_cache=repo_config(repo).dvc_cache if dvc_cache is None else dvc_cache,
    )
    echo_notes(result.graph)
    emit(REPORTERS[fmt](result, str(repo)), output, plain=fmt != "text")
    emit_reports(reports, lambda name: REPORTERS[name](result, str(repo)))
    if result.evaluation.undecided:
        fail(undecided_message(result.evaluation.undecided))
    threshold = severity_rank(fail_on_of(repo, fail_on))
    failing = [f for f in result.evaluation.active if severity_rank(f.severity) >= threshold]
    sys.exit(EXIT_VIOLATIONS if failing else EXIT_OK)
