"""`mlpolicy verify`: supply-chain verification; without a subcommand, in-toto-verify's."""

from __future__ import annotations

from typing import Any

import click

from policy_engine.cli.verify_layout import expand_lists, run_verify, verify_options


class VerifyGroup(click.Group):
    """Takes in-toto-verify's lists (``--verification-keys a.pub b.pub``) before parsing."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_lists(args, list(self.commands)))


@click.group(cls=VerifyGroup, invoke_without_command=True)
@verify_options
@click.pass_context
def verify(ctx: click.Context, /, **options: Any) -> None:
    """Verify an in-toto layout and its links, as in-toto-verify does (exit 0, 1 or 2)."""
    if ctx.invoked_subcommand is None:
        run_verify(**options)
