"""`mlpolicy validate`: every syntax, name and type error of the policies, at once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from policy_engine.cli.common import EXIT_CANNOT_JUDGE, PATH, load, repo_option


@click.command()
@click.argument("paths", nargs=-1, type=PATH)
@repo_option("paths in policies are relative to it")
def validate(paths: tuple[Path, ...], repo: Path) -> None:
    """Check policy files for syntax, name and type errors (default: REPO/policies).

    Warnings can be silenced by code with the configuration's `silence` (W206, say).

    Exit status: 0 valid (warnings allowed); 2 an error, or an unreadable file.
    """
    loaded = load(repo, paths, lower=False)
    if not loaded.ok:
        errors = sum(1 for d in loaded.diagnostics if d.level.value == "error")
        click.echo(f"\n{errors} error(s); the policy is invalid", err=True)
        sys.exit(EXIT_CANNOT_JUDGE)
    files, controls = len(loaded.sources), loaded.controls
    click.echo(f"ok: {files} policy file(s), {controls} controls")
