"""A click group whose subcommands are imported only when they run (or help lists them)."""

from __future__ import annotations

import importlib
from typing import ClassVar

import click


class LazyGroup(click.Group):
    """``table`` maps a subcommand's name to ``module:attribute``."""

    table: ClassVar[dict[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.table)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.table:
            return None
        module, _, attribute = self.table[name].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command
