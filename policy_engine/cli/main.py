"""The command group: global options, and failing closed on anything unforeseen."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from policy_engine import __version__
from policy_engine.cli.common import EXIT_CANNOT_JUDGE
from policy_engine.cli.lazy import LazyGroup
from policy_engine.errors import InputError

# Each verb's module is imported only when that verb runs (or when help lists them all).
COMMANDS: dict[str, str] = {
    "attest": "policy_engine.cli.attest:attest",
    "check": "policy_engine.cli.check:check",
    "diff": "policy_engine.cli.diff:diff",
    "explain": "policy_engine.cli.explain:explain",
    "fmt": "policy_engine.cli.fmt:fmt",
    "graph": "policy_engine.cli.graph:graph",
    "init": "policy_engine.cli.init:init",
    "keygen": "policy_engine.cli.keygen:keygen",
    "test": "policy_engine.cli.test:test_command",
    "validate": "policy_engine.cli.validate:validate",
    "verify": "policy_engine.cli.verify:verify",
}


EXIT_CLOSED_PIPE = 141  # as a program that SIGPIPE ended: the reader stopped early


def _quiet_stdout() -> None:
    """Point standard output at the null device, so that the final flush cannot fail again."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())


class FailClosedGroup(LazyGroup):
    """Verbs loaded on demand; every unexpected failure becomes exit 2 with one line
    (fail closed, no traceback)."""

    table = COMMANDS

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InputError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_CANNOT_JUDGE)
        except BrokenPipeError:
            _quiet_stdout()
            ctx.exit(EXIT_CLOSED_PIPE)
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


@click.group(cls=FailClosedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlpolicy")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    envvar="MLPOLICY_COLOR",
    help="Colour on a terminal (auto: unless NO_COLOR is set).",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print no notes, warnings or progress; reports and errors only.",
)
def main(color: str, quiet: bool) -> None:
    """Policy-as-code for the security of ML pipelines (DVC + in-toto).

    \b
    Exit status of every verb: 0 pass, 1 violations (or failing tests),
    2 usage error, invalid policy or input that could not be judged.
    \b
    Environment: NO_COLOR, MLPOLICY_COLOR, MLPOLICY_CACHE_DIR, MLPOLICY_KEY_DIR,
    MLPOLICY_CONFIG_DIR, MLPOLICY_DEBUG; shell completion:
    eval "$(_MLPOLICY_COMPLETE=bash_source mlpolicy)" (zsh_source, fish_source).
    """


def run() -> None:
    """The ``mlpolicy`` program: :func:`main`, then the process ends at once.

    Once the report is written and flushed, the process exits without tearing down
    its heap object by object (more than a second for a graph of 100,000 artifacts;
    the operating system frees it whole). Everything the engine opens is closed by
    then: files, the hash cache, worker processes and temporary folders end inside
    the verbs.
    """
    try:
        main()
    except SystemExit as done:
        # ended here, while ``done`` (whose traceback holds the verb's frames, so its
        # graph) is still bound: nothing is freed object by object
        _end(_status(done.code))
    _end(0)


def _end(code: int) -> NoReturn:
    """Flush the output, then end the process with ``code`` at once."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_CLOSED_PIPE
    os._exit(code)


def _status(code: object) -> int:
    """The exit status Python gives a ``SystemExit`` carrying ``code``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
