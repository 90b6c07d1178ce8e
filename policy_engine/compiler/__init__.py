"""AST to IR: an ordered table of named passes; tests can stop after any of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.compiler.context import CompileContext, Unit
from policy_engine.compiler.fields import check_fields
from policy_engine.compiler.passes import (
    Pass,
    check_controls,
    check_rules,
    check_waivers,
    declare,
    load_keys,
    resolve,
    warn_unused,
)
from policy_engine.compiler.trust import check_trust, load_key_sets
from policy_engine.diagnostics import Diagnostic, has_errors
from policy_engine.language import ast

if TYPE_CHECKING:
    from policy_engine.compiler import ir

PASSES: tuple[tuple[str, Pass], ...] = (
    ("declare", declare),
    ("resolve", resolve),
    ("trust", check_trust),
    ("controls", check_controls),
    ("rules", check_rules),
    ("fields", check_fields),
    ("waivers", check_waivers),
    ("keys", load_keys),
    ("key sets", load_key_sets),
    ("unused", warn_unused),
)


@dataclass(frozen=True)
class CompileResult:
    policy: ir.PolicySet | None  # None when there are errors
    diagnostics: tuple[Diagnostic, ...]
    context: CompileContext


def compile_units(
    units: Sequence[Unit], root: Path, stop_after: str | None = None, lower_ir: bool = True
) -> CompileResult:
    """Run every pass (or those up to ``stop_after``), then lower to IR if error-free
    (unless ``lower_ir`` is false: checking alone, as `mlpolicy validate` does)."""
    ctx = CompileContext(tuple(units), root)
    for name, run in PASSES:
        run(ctx)
        if name == stop_after:
            break
    else:
        if lower_ir and not has_errors(ctx.diagnostics):
            from policy_engine.compiler.lower import lower

            lower(ctx)
    ordered = tuple(sorted(ctx.diagnostics, key=Diagnostic.sort_key))
    return CompileResult(ctx.result, ordered, ctx)


def compile_modules(
    modules: Sequence[ast.Module], root: Path, stop_after: str | None = None
) -> CompileResult:
    """Compile modules that import nothing (each is a unit with no bindings)."""
    return compile_units([Unit(m) for m in modules], root, stop_after)


__all__ = ["PASSES", "CompileResult", "Unit", "compile_modules", "compile_units"]
