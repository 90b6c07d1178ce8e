"""`mlpolicy verify` without a subcommand: a drop-in for `in-toto-verify`.

The options are in-toto-verify's (a list after `--verification-keys`, `--gpg`
or `--param` is taken as in-toto takes it: every word up to the next option);
the run loads the chain (:mod:`policy_engine.supplychain.load`), judges it
(:func:`policy_engine.supplychain.verify`) and reports every problem. Exit 0
when it verifies, 1 when it does not, 2 when it cannot be judged (usage, an
unreadable key or a GPG key that cannot be exported, inspections that would
have to run).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from policy_engine.cli.common import (
    EXIT_CANNOT_JUDGE,
    EXIT_OK,
    EXIT_VIOLATIONS,
    PATH,
    REPORT_FORMATS,
    F,
    at_option,
    emit,
    emit_reports,
    output_option,
    report_option,
    utc,
)

if TYPE_CHECKING:
    from policy_engine.results import CheckResult
    from policy_engine.supplychain import Outcome

# Options that take a list of values, as in-toto-verify's `nargs="+"`.
MULTI = ("--verification-keys", "--layout-keys", "-k", "--gpg", "-g", "--param", "--key-types")


def expand_lists(args: Sequence[str], commands: Sequence[str]) -> list[str]:
    """``--opt a b`` -> ``--opt a --opt b`` for the list options (a subcommand name ends a list)."""
    out: list[str] = []
    pending, has_value = "", False
    for arg in args:
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            pending, has_value = (name, "=" in arg) if name in MULTI else ("", False)
            out.append(arg)
        elif pending and has_value and arg not in commands:
            out += [pending, arg]
        else:  # an option's first value, a subcommand (ends the list), or an argument
            has_value = bool(pending) and arg not in commands
            pending = pending if has_value else ""
            out.append(arg)
    return out


def verify_options(command: F) -> F:
    """in-toto-verify's options, and mlpolicy's (`--format`, `--strict-commands`, ...)."""
    for decorate in reversed(_OPTIONS):
        command = decorate(command)
    return command


def _param(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"`{value}` is not KEY=VALUE")
        params[name] = text
    return params or None


_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("-l", "--layout", type=PATH, help="The root layout to verify."),
    click.option(
        "--verification-keys",
        "--layout-keys",
        "-k",
        "keys",
        type=PATH,
        multiple=True,
        help="Public keys (PEM or securesystemslib JSON); each must have signed the layout.",
    ),
    click.option("-g", "--gpg", multiple=True, help="GPG key ids (needs a gpg binary)."),
    click.option("--gpg-home", help="The GPG keyring's folder (default: gpg's)."),
    click.option("--key-types", multiple=True, hidden=True, help="Ignored: read from the keys."),
    click.option(
        "--link-dir",
        type=PATH,
        default=Path("."),
        show_default=True,
        help="Where the links `<step>.<keyid8>.link` are.",
    ),
    click.option(
        "--param",
        "params",
        multiple=True,
        callback=_param,
        help="KEY=VALUE substituted for `{KEY}` in the layout's rules and commands.",
    ),
    click.option(
        "--strict-commands",
        is_flag=True,
        help="A link whose command is not the expected one fails the verification.",
    ),
    click.option(
        "--skip-inspections",
        is_flag=True,
        help="Verify a layout with inspections without them (each reported as not run).",
    ),
    click.option("--inspection-timeout", type=int, hidden=True, help="Ignored: nothing is run."),
    click.option(
        "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text", show_default=True
    ),
    output_option(),
    report_option(),
    at_option(" the layout's expiry"),
    click.option("-v", "--verbose", is_flag=True, help="List the warnings too."),
    click.option("-q", "--quiet", is_flag=True, help="Print nothing; only the exit status."),
]


def run_verify(
    layout: Path | None,
    keys: tuple[Path, ...],
    gpg: tuple[str, ...],
    link_dir: Path,
    params: dict[str, str] | None,
    strict_commands: bool,
    skip_inspections: bool,
    fmt: str,
    output: Path | None,
    reports: tuple[tuple[str, Path], ...],
    at: datetime | None,
    verbose: bool = False,
    quiet: bool = False,
    gpg_home: str | None = None,
    **_ignored: object,
) -> None:
    """Verify, report, exit (see the module doc)."""
    from policy_engine.supplychain import Options
    from policy_engine.supplychain.run import verify_files

    if layout is None:
        _cannot("missing option `--layout`")
    if not keys and not gpg:
        _cannot("give at least one key with `--verification-keys` or `--gpg` (as in-toto)")
    now = utc(at) or datetime.now(timezone.utc)
    options = Options(now, params, strict_commands, skip_inspections)
    outcome = verify_files(layout, keys, link_dir, options, (gpg, gpg_home))
    if not quiet:
        if fmt == "text" and not output and not reports:
            click.echo(render_text(outcome, str(layout), verbose), nl=False)
        else:
            _emit(outcome, str(layout), fmt, output, reports)
    sys.exit(_status(outcome))


def _cannot(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_CANNOT_JUDGE)


def _status(outcome: Outcome) -> int:
    if outcome.unjudged:
        return EXIT_CANNOT_JUDGE
    return EXIT_VIOLATIONS if outcome.failures else EXIT_OK


def render_text(outcome: Outcome, layout: str, verbose: bool) -> str:
    """in-toto-verify's verdict in one line, then every problem with its evidence."""
    shown = [p for p in outcome.problems if verbose or not p.warning]
    lines = []
    for problem in shown:
        label = "warning" if problem.warning else "cannot judge" if problem.unjudged else "FAIL"
        lines.append(f"{label}: {problem.subject}: {problem.message}")
        lines += [f"    {name}: {value}" for name, value in problem.evidence[:10]]
    status = _status(outcome)
    verdict = {EXIT_OK: "PASSING", EXIT_VIOLATIONS: "FAILING"}.get(status, "NOT JUDGED")
    hidden = len(outcome.problems) - len(shown)
    more = f"; {hidden} warning(s), see -v" if hidden else ""
    lines.append(f"mlpolicy verify {layout}: {verdict} ({len(outcome.failures)} problem(s){more})")
    return "\n".join(lines) + "\n"


def _emit(
    outcome: Outcome,
    layout: str,
    fmt: str,
    output: Path | None,
    reports: Sequence[tuple[str, Path]],
) -> None:
    from policy_engine.report import REPORTERS

    result = check_result(outcome, layout)
    if fmt == "text":
        emit(render_text(outcome, layout, True), output)
    else:
        emit(REPORTERS[fmt](result, layout), output)
    emit_reports(reports, lambda name: REPORTERS[name](result, layout))


def check_result(outcome: Outcome, layout: str) -> CheckResult:
    """The outcome as a check's result (no controls; one finding per problem), for reporters."""
    from policy_engine.compiler.ir import Location, PolicySet
    from policy_engine.evaluate import Evaluation
    from policy_engine.evaluate.intoto_findings import problem_findings
    from policy_engine.graph.model import ProvenanceGraph
    from policy_engine.results import CheckResult

    location = Location(layout, 1, 1)
    policy = PolicySet(f"in-toto layout {layout}", {}, {}, {}, (), (), (), location)
    findings = problem_findings(outcome.problems, location)
    return CheckResult(policy, ProvenanceGraph(str(Path(layout).parent)), Evaluation(findings, ()))
