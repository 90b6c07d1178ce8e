"""Helpers shared by the predicate functions: naming keys and roles."""

from __future__ import annotations

from policy_engine.evaluate.context import EvalContext


def key_names(ctx: EvalContext, keyids: set[str] | frozenset[str]) -> str:
    """``\\`alice\\`, \\`bob\\``` for trusted keys; ``no trusted key`` when empty."""
    return ", ".join(f"`{ctx.key_name(k)}`" for k in sorted(keyids)) or "no trusted key"


def need(role_name: str, threshold: int) -> str:
    return f"role `{role_name}` must sign it with {threshold} distinct key(s)"
