"""The `mlpolicy` command. Thin: parse options, call the API, pick a reporter, return a status.

Exit status: 0 no violation at or above ``--fail-on``; 1 violations; 2 usage
error, invalid policy, or any input the engine could not judge.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from policy_engine import __version__
from policy_engine.errors import InputError
from policy_engine.lifecycle import SEVERITIES, severity_rank

if TYPE_CHECKING:
    from policy_engine.api import LoadedPolicy

EXIT_OK, EXIT_VIOLATIONS, EXIT_CANNOT_JUDGE = 0, 1, 2

_existing = click.Path(path_type=Path)


class _Command(click.Group):
    """Turns every unexpected failure into exit 2 with one line (fail closed, no traceback)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InputError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_CANNOT_JUDGE)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:
            if os.environ.get("MLPOLICY_DEBUG"):
                raise
            click.echo(
                f"error: internal error: {error!r} (set MLPOLICY_DEBUG=1 for details)", err=True
            )
            ctx.exit(EXIT_CANNOT_JUDGE)
        return None


@click.group(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlpolicy")
def main() -> None:
    """Policy-as-code for the security of ML pipelines (DVC + in-toto)."""


def _policy_paths(repo: Path, given: tuple[Path, ...]) -> list[Path]:
    return list(given) or [repo / "policies"]


def _load(repo: Path, policies: tuple[Path, ...]) -> LoadedPolicy:
    from policy_engine.api import load_policy
    from policy_engine.diagnostics import render_all

    loaded = load_policy(_policy_paths(repo, policies), repo)
    if loaded.diagnostics:
        click.echo(render_all(loaded.diagnostics, loaded.sources), err=True)
    return loaded


@main.command()
@click.argument("paths", nargs=-1, type=_existing)
@click.option(
    "--repo",
    type=_existing,
    default=Path("."),
    show_default=True,
    help="Repository root: paths in policies are relative to it.",
)
def validate(paths: tuple[Path, ...], repo: Path) -> None:
    """Check policy files for syntax, name and type errors (default: REPO/policies)."""
    loaded = _load(repo, paths)
    if not loaded.ok:
        errors = sum(1 for d in loaded.diagnostics if d.level.value == "error")
        click.echo(f"\n{errors} error(s); the policy is invalid", err=True)
        sys.exit(EXIT_CANNOT_JUDGE)
    count = len(loaded.sources)
    click.echo(f"ok: {count} policy file(s), {len(loaded.policy.controls)} controls")


@main.command()
@click.argument("repo", required=False, type=_existing, default=Path("."))
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=_existing,
    help="Policy file or folder (repeatable; default: REPO/policies).",
)
@click.option(
    "--attestations",
    multiple=True,
    type=_existing,
    help="Link file or folder searched recursively (repeatable).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
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
def check(
    repo: Path,
    policies: tuple[Path, ...],
    attestations: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    fail_on: str,
) -> None:
    """Evaluate the policies against the provenance graph of REPO (default: .)."""
    from policy_engine.api import check as run_check
    from policy_engine.report import REPORTERS

    if not repo.is_dir():
        raise InputError("repository folder not found", str(repo))
    loaded = _load(repo, policies)
    if not loaded.ok:
        click.echo("error: the policy is invalid; nothing was checked", err=True)
        sys.exit(EXIT_CANNOT_JUDGE)
    result = run_check(loaded.policy, repo, attestations)
    text = REPORTERS[fmt](result, str(repo))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    threshold = severity_rank(fail_on)
    failing = [f for f in result.evaluation.findings if severity_rank(f.severity) >= threshold]
    sys.exit(EXIT_VIOLATIONS if failing else EXIT_OK)
