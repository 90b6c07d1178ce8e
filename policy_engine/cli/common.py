"""What every verb shares: exit codes, option types, loading policies, writing output."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from policy_engine.cli.style import color_enabled, echo, quiet

if TYPE_CHECKING:
    from policy_engine.config import Config
    from policy_engine.graph.model import ProvenanceGraph
    from policy_engine.results import LoadedPolicy

EXIT_OK, EXIT_VIOLATIONS, EXIT_CANNOT_JUDGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])

PATH = click.Path(path_type=Path)

# The reporters' formats (`policy_engine.report.REPORTERS`), spelled here so that help loads none.
REPORT_FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")


def repo_config(repo: Path) -> Config:
    """The repository's configuration (``.mlpolicy.toml`` or ``pyproject.toml``)."""
    from policy_engine.config import Config, load_config

    return load_config(repo) if repo.is_dir() else Config()


def in_repository(repo: Path, paths: Sequence[Path], what: str) -> list[Path]:
    """``paths`` the repository chose (configured, or the default ``policies``), each of
    which must resolve inside ``repo``: one leaving it (a symlink) is an ``InputError``
    located at it, before anything there is listed or read."""
    from policy_engine.inputs import confine

    for path in paths:
        shown = Path(os.path.relpath(path, repo)).as_posix()
        confine(path, (repo,), shown, f"the {what} `{shown}`")
    return list(paths)


def policy_paths(repo: Path, given: tuple[Path, ...]) -> list[Path]:
    """The policy files or folders given, else the configured ones, else ``REPO/policies``
    (those two inside the repository)."""
    from policy_engine.loader import DEFAULT_POLICY_DIR

    if given:
        return list(given)
    configured = [repo / p for p in repo_config(repo).policy]
    return in_repository(repo, configured or [repo / DEFAULT_POLICY_DIR], "policy path")


def attestation_paths(repo: Path, given: tuple[Path, ...]) -> tuple[Path, ...]:
    """The attestation paths given, and the configured ones (inside the repository)."""
    configured = [repo / p for p in repo_config(repo).attestations]
    return (*given, *in_repository(repo, configured, "attestation path"))


def fail_on_of(repo: Path, given: str | None) -> str:
    """``--fail-on`` as given, else the configured one, else ``low``."""
    return given or repo_config(repo).fail_on or "low"


def load(repo: Path, policies: tuple[Path, ...], lower: bool = True) -> LoadedPolicy:
    """Parse and compile; print the diagnostics to stderr: every error, and the warnings
    that neither ``--quiet`` nor the configuration's ``silence`` leaves out."""
    from policy_engine.api import load_policy
    from policy_engine.diagnostics import Level, render_all

    loaded = load_policy(policy_paths(repo, policies), repo, lower)
    silenced = set(repo_config(repo).silence)
    shown = [
        d
        for d in loaded.diagnostics
        if d.level is Level.ERROR or not (quiet() or d.code in silenced)
    ]
    if shown:
        echo(render_all(shown, loaded.sources), color_enabled(sys.stderr), err=True)
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


MAX_NOTES_SHOWN = 20


def echo_notes(built: ProvenanceGraph) -> None:
    """Print the graph's notes (inputs skipped or partly used) to stderr, at most 20
    (none with ``--quiet``)."""
    if quiet():
        return
    for note in built.notes[:MAX_NOTES_SHOWN]:
        click.echo(f"note: {note}", err=True)
    hidden = len(built.notes) - MAX_NOTES_SHOWN
    if hidden > 0:
        click.echo(f"note: … and {hidden} more", err=True)


def emit(text: str, output: Path | None, plain: bool = True) -> None:
    """Write a report to ``output``, or to standard output (coloured on a terminal unless
    ``plain``: machine formats never are)."""
    if output is None:
        echo(text, not plain and color_enabled(), nl=False)
    else:
        output.write_text(text, encoding="utf-8")


# -- options shared by several verbs -------------------------------------------------


class _EvaluationTime(click.DateTime):
    """A date or time between 1970 and 2999: freshness windows are measured back from it."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        moment = super().convert(value, param, ctx)
        if not 1970 <= moment.year <= 2999:
            self.fail(f"{value!r} is not a time between 1970 and 2999", param, ctx)
        return moment


TIME = _EvaluationTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"])


def repo_option(purpose: str) -> Callable[[F], F]:
    """``--repo DIR`` (default ``.``) for verbs whose arguments are policy files."""
    return click.option(
        "--repo",
        type=PATH,
        default=Path("."),
        show_default=True,
        help=f"Repository root: {purpose}.",
    )


def policy_option(default: str = "REPO/policies") -> Callable[[F], F]:
    return click.option(
        "--policy",
        "policies",
        multiple=True,
        type=PATH,
        help=f"Policy file or folder (repeatable; default: {default}).",
    )


def attestations_option(where: str = "") -> Callable[[F], F]:
    return click.option(
        "--attestations",
        multiple=True,
        type=PATH,
        help=f"Attestation file, bundle or folder searched recursively{where} (repeatable).",
    )


def output_option(what: str = "report") -> Callable[[F], F]:
    return click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Write the {what} here instead of standard output.",
    )


def report_target(value: str) -> tuple[str, Path]:
    """``FORMAT=FILE`` as ``(format, file)``; a :class:`click.BadParameter` otherwise."""
    fmt, equals, file = value.partition("=")
    if not equals or not file:
        raise click.BadParameter(f"expected FORMAT=FILE, e.g. `sarif=out.sarif`, got `{value}`")
    if fmt not in REPORT_FORMATS:
        raise click.BadParameter(f"unknown format `{fmt}`; one of {', '.join(REPORT_FORMATS)}")
    return fmt, Path(file)


def report_option() -> Callable[[F], F]:
    """``--report FORMAT=FILE`` (repeatable): more formats from the same evaluation."""
    return click.option(
        "--report",
        "reports",
        multiple=True,
        metavar="FORMAT=FILE",
        callback=lambda _ctx, _param, values: tuple(report_target(v) for v in values),
        help="Also write this run's report in FORMAT to FILE (repeatable; formats as --format).",
    )


def emit_reports(reports: Sequence[tuple[str, Path]], render: Callable[[str], str]) -> None:
    """Write each ``(format, file)`` of ``--report``, rendered by ``render(format)``."""
    for fmt, file in reports:
        emit(render(fmt), file)


def fail_on_option(what: str = "finding", configured: bool = True) -> Callable[[F], F]:
    from policy_engine.lifecycle import SEVERITIES

    where = " (default: the configuration's `fail-on`, else low)" if configured else ""
    return click.option(
        "--fail-on",
        type=click.Choice(SEVERITIES),
        default=None if configured else "low",
        show_default=not configured,
        help=f"Lowest severity of a {what} that makes the command fail{where}.",
    )


def at_option(what: str = "") -> Callable[[F], F]:
    return click.option(
        "--at",
        type=TIME,
        help=f"Evaluate{what} as of this time (UTC unless given): freshness windows and waivers.",
    )


no_cache_option = click.option(
    "--no-cache", is_flag=True, help="Hash every file; do not use the hash cache."
)


def utc(moment: datetime | None) -> datetime | None:
    """A time given without a zone is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment
