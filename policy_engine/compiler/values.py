"""Values: literals and pack parameters resolved to Python values, with their types."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING

from policy_engine.compiler.context import Scope
from policy_engine.language import ast

if TYPE_CHECKING:
    from policy_engine.compiler import ir

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
PARAMETER_TYPES = ("role", "number", "duration", "string", "bool", "date", "list")


class ValueProblem(ValueError):
    """A value that cannot be resolved: (code, message, span, help)."""

    def __init__(self, code: str, message: str, node: ast.Value, help: str | None = None):
        super().__init__(message)
        self.code, self.message, self.node, self.help = code, message, node, help


def parse_duration(raw: str) -> timedelta:
    return timedelta(seconds=int(raw[:-1]) * _UNITS[raw[-1]])


MAX_DURATION_DAYS = 999_999_999  # what a timedelta can hold


def _duration(value: ast.Duration) -> timedelta:
    try:
        return parse_duration(value.raw)
    except (OverflowError, ValueError):
        raise ValueProblem(
            "E114", f"the duration is longer than {MAX_DURATION_DAYS} days", value
        ) from None


def type_of(value: ast.Value) -> str:
    """The type name of a literal (a reference has the type of what it names)."""
    return {
        ast.Number: "number",
        ast.Text: "string",
        ast.Duration: "duration",
        ast.Date: "date",
        ast.Bool: "bool",
        ast.ListValue: "list",
        ast.Reference: "role",
    }[type(value)]


def resolve(value: ast.Value, scope: Scope) -> ir.Value:
    """The Python value of ``value``; references resolve through the pack's parameters."""
    if isinstance(value, ast.Reference):
        return _dereference(value, scope)
    if isinstance(value, ast.ListValue):
        return tuple(_scalar(resolve(item, scope), item) for item in value.items)
    if isinstance(value, ast.Duration):
        return _duration(value)
    if isinstance(value, ast.Number) and not math.isfinite(value.value):
        raise ValueProblem("E114", "the number is too large", value)
    if isinstance(value, ast.Date):
        try:
            return date.fromisoformat(value.raw)
        except ValueError:
            raise ValueProblem("E117", f"`{value.raw}` is not a calendar date", value) from None
    return value.value


def _scalar(resolved: ir.Value, node: ast.Value) -> ir.Scalar:
    if isinstance(resolved, tuple):
        raise ValueProblem("E114", "lists cannot be nested", node)
    return resolved


def _dereference(ref: ast.Reference, scope: Scope) -> ir.Value:
    name = ref.name.value
    param = scope.params.get(name)
    if param is None:
        where = f"pack `{scope.pack}`" if scope.pack else "this file"
        raise ValueProblem(
            "E101",
            f"unknown parameter `{name}`",
            ref,
            f'{where} declares no parameter `{name}`; quote text as "{name}"',
        )
    bound = scope.bound.get(name)
    if bound is None:
        raise ValueProblem("E112", f"parameter `{name}` has no value", ref)
    if param.type.value == "role":
        raise ValueProblem("E114", f"parameter `{name}` is a role, not a value", ref)
    return resolve(bound, Scope())
