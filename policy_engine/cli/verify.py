"""`mlpolicy verify`: supply-chain verification.

Without a subcommand it is in-toto-verify (see :mod:`.verify_layout`); ``verify model``
is a drop-in for ``model_signing verify`` (see :mod:`.verify_model`), loaded lazily.
"""

from __future__ import annotations

from typing import Any

import click

from policy_engine.cli.lazy import LazyGroup
from policy_engine.cli.verify_layout import expand_lists, run_verify, verify_options

SUBCOMMANDS: dict[str, str] = {
    "model": "policy_engine.cli.verify_model:model",
}


class VerifyGroup(LazyGroup):
    """Subcommands loaded on demand; in-toto-verify's lists (``--verification-keys a.pub
    b.pub``) are taken before parsing."""

    table = SUBCOMMANDS

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_lists(args, list(SUBCOMMANDS)))


@click.group("verify", cls=VerifyGroup, invoke_without_command=True)
@verify_options
@click.pass_context
def verify(ctx: click.Context, /, **options: Any) -> None:
    """Verify an in-toto layout and its links, as in-toto-verify does; `verify model`
    verifies an OpenSSF model signature, as `model_signing verify` does.

    Exit status: 0 verified; 1 not verified; 2 usage error or an input that could not
    be judged.
    """
    if ctx.invoked_subcommand is None:
        run_verify(**options)
