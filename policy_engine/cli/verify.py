"""`mlpolicy verify`: verifying signed supply-chain evidence; subcommands loaded lazily.

``verify model`` is a drop-in for ``model_signing verify`` (see :mod:`.verify_model`).
"""

from __future__ import annotations

import importlib

import click

SUBCOMMANDS: dict[str, str] = {
    "model": "policy_engine.cli.verify_model:model",
}


class LazyGroup(click.Group):
    """Subcommands imported only when they run (or when help lists them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS:
            return None
        module, _, attribute = SUBCOMMANDS[name].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group("verify", cls=LazyGroup)
def verify() -> None:
    """Verify signed evidence: OpenSSF model signatures (`verify model`)."""
