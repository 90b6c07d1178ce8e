"""Selectors: which subjects (artifact paths or step names) a rule is about."""

from __future__ import annotations

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext


def select(selector: ir.Selector, ctx: EvalContext) -> list[str]:
    """Subjects in a stable order."""
    if isinstance(selector, ir.ArtifactsMatching):
        return ctx.lineage.artifacts_matching(selector.globs)
    if isinstance(selector, ir.StepsIn):
        return [s.name for s in ctx.steps_by_stage.get(selector.stage, [])]
    return sorted(s.name for s in ctx.graph.steps() if globs.matches_any(selector.globs, s.name))


def describe(selector: ir.Selector) -> str:
    """The selection in words, for messages: e.g. ``artifacts matching `models/*```."""
    if isinstance(selector, ir.ArtifactsMatching):
        return "artifacts matching " + ", ".join(f"`{g}`" for g in selector.globs)
    if isinstance(selector, ir.StepsIn):
        return f"steps in stage `{selector.stage}`"
    return "steps matching " + ", ".join(f"`{g}`" for g in selector.globs)
