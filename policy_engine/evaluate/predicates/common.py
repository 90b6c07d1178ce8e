"""Helpers shared by the predicate functions: naming keys and listing signatures."""

from __future__ import annotations

from policy_engine.evaluate.context import EvalContext
from policy_engine.graph.model import Attestation, Evidence, SignatureStatus

_SIGNATURE_LABELS = {status: f"signature {status.value}" for status in SignatureStatus}


def key_names(ctx: EvalContext, keyids: set[str] | frozenset[str]) -> str:
    """``\\`alice\\`, \\`bob\\``` for trusted keys; ``no trusted key`` when empty."""
    return ", ".join(f"`{ctx.key_name(k)}`" for k in sorted(keyids)) or "no trusted key"


def signature_evidence(ctx: EvalContext, att: Attestation) -> list[Evidence]:
    return [
        Evidence(_SIGNATURE_LABELS[s.status], ctx.describe_key(s.keyid), att.file)
        for s in att.signatures
    ]


def need(role_name: str, threshold: int) -> str:
    return f"role `{role_name}` must sign it with {threshold} distinct key(s)"
