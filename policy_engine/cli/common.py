"""What every verb shares: exit codes, option types, loading policies, writing output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from policy_engine.api import LoadedPolicy

EXIT_OK, EXIT_VIOLATIONS, EXIT_CANNOT_JUDGE = 0, 1, 2

PATH = click.Path(path_type=Path)


def policy_paths(repo: Path, given: tuple[Path, ...]) -> list[Path]:
    """The policy files or folders given, else ``REPO/policies``."""
    return list(given) or [repo / "policies"]


def load(repo: Path, policies: tuple[Path, ...], lower: bool = True) -> LoadedPolicy:
    """Parse and compile; print every diagnostic (errors and warnings) to stderr."""
    from policy_engine.api import load_policy
    from policy_engine.diagnostics import render_all

    loaded = load_policy(policy_paths(repo, policies), repo, lower)
    if loaded.diagnostics:
        click.echo(render_all(loaded.diagnostics, loaded.sources), err=True)
    return loaded


def load_or_exit(repo: Path, policies: tuple[Path, ...]) -> LoadedPolicy:
    """As :func:`load`, but an invalid policy ends the command with exit 2."""
    loaded = load(repo, policies)
    if not loaded.ok:
        fail("the policy is invalid; nothing was checked")
    return loaded


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_CANNOT_JUDGE)


def emit(text: str, output: Path | None) -> None:
    """Write a report to ``output``, or to standard output."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
