"""The command group: global options, and failing closed on anything unforeseen."""

from __future__ import annotations

import os

import click

from policy_engine import __version__
from policy_engine.cli.common import EXIT_CANNOT_JUDGE
from policy_engine.errors import InputError


class FailClosedGroup(click.Group):
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


@click.group(cls=FailClosedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlpolicy")
def main() -> None:
    """Policy-as-code for the security of ML pipelines (DVC + in-toto)."""
