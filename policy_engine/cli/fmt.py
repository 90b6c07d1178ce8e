"""`mlpolicy fmt`: rewrite policy files in the one canonical layout, comments kept.

A file that does not parse is never touched: its diagnostics are printed and
the command ends with exit 2 (after looking at every file).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from policy_engine.cli.common import (
    EXIT_CANNOT_JUDGE,
    EXIT_OK,
    EXIT_VIOLATIONS,
    PATH,
    policy_paths,
    repo_option,
)
from policy_engine.errors import InputError
from policy_engine.files import write_atomically


def _read(path: Path) -> str:
    """The file's text; raises ``InputError`` (missing, not regular, too large, not UTF-8)."""
    from policy_engine import inputs
    from policy_engine.language.parser import MAX_POLICY_BYTES

    return inputs.read_text(path, str(path), MAX_POLICY_BYTES)


def _diff(name: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=name,
        tofile=f"{name} (formatted)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _format_one(path: Path, check: bool, show_diff: bool) -> int:
    """Format one file; 0 unchanged, 1 changed (or would change), 2 unreadable or invalid."""
    from policy_engine.diagnostics import Diagnostic, render_all
    from policy_engine.language.printer import FormatError, format_text

    name = str(path)
    try:
        text = _read(path)
    except InputError as error:
        unreadable = Diagnostic("E005", f"`{name}`: {error.message}")
        click.echo(render_all([unreadable], {}), err=True)
        return EXIT_CANNOT_JUDGE
    try:
        formatted = format_text(text, name)
    except FormatError as error:
        click.echo(render_all(error.diagnostics, {name: text}) + "\n", err=True)
        return EXIT_CANNOT_JUDGE
    if formatted == text:
        return EXIT_OK
    if show_diff:
        click.echo(_diff(name, text, formatted), nl=False)
    if check or show_diff:
        click.echo(f"would reformat {name}", err=True)
    else:
        target = path.resolve()
        write_atomically(target, formatted.encode("utf-8"), target.stat().st_mode & 0o7777)
        click.echo(f"formatted {name}", err=True)
    return EXIT_VIOLATIONS


@click.command()
@click.argument("paths", nargs=-1, type=PATH)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file would change.")
@click.option(
    "--diff", "show_diff", is_flag=True, help="Write nothing; print what would change as a diff."
)
@repo_option("the default PATHS are REPO/policies")
def fmt(paths: tuple[Path, ...], check: bool, show_diff: bool, repo: Path) -> None:
    """Rewrite policy files in the canonical layout (default: REPO/policies).

    Exit status: 0 nothing to change (or changes written); 1 with --check, a file
    would change; 2 a file does not parse or cannot be read (it is left untouched).
    """
    from policy_engine.loader import policy_files

    results = [_format_one(p, check, show_diff) for p in policy_files(policy_paths(repo, paths))]
    if EXIT_CANNOT_JUDGE in results:
        click.echo(
            "error: some policy files could not be formatted; they were left untouched", err=True
        )
        sys.exit(EXIT_CANNOT_JUDGE)
    if check and EXIT_VIOLATIONS in results:
        sys.exit(EXIT_VIOLATIONS)
