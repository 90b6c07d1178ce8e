"""Predicates: one small function per IR predicate type, each returning a Verdict.

``PREDICATES`` maps an IR type to its function; every function has the same
signature, ``(predicate, subject, ctx) -> Verdict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.selectors import describe
from policy_engine.graph.model import Attestation, Evidence, SignatureStatus


def _names(ctx: EvalContext, keyids: set[str] | frozenset[str]) -> str:
    return ", ".join(f"`{ctx.key_name(k)}`" for k in sorted(keyids)) or "no trusted key"


_SIGNATURE_LABELS = {status: f"signature {status.value}" for status in SignatureStatus}


def _signature_evidence(ctx: EvalContext, att: Attestation) -> list[Evidence]:
    return [
        Evidence(_SIGNATURE_LABELS[s.status], ctx.describe_key(s.keyid), att.file)
        for s in att.signatures
    ]


def signed_by(pred: ir.SignedBy, path: str, ctx: EvalContext) -> Verdict:
    """Distinct keys of the role that signed ``path`` at its current workspace digest."""
    current = ctx.graph.workspace(path)
    if current is None:
        return Verdict(
            False,
            f"`{path}` is not in the workspace, so no signature can cover its current bytes",
            Kind.UNSIGNED_ARTIFACT,
        )
    products = ctx.products.get(path, [])
    signers: set[str] = set()
    stale: list[str] = []
    for att, digest in products:
        if any(current.digest(a) == v for a, v in digest.items()):
            signers |= att.signers & pred.role.keyids
        else:
            stale.append(att.file)
    holds = len(signers) >= pred.threshold
    if holds:
        message = f"signed at its current digest by {_names(ctx, signers)}"
    else:
        message = _unsigned_reason(pred, signers, stale, bool(products), ctx)
    evidence = [Evidence("workspace sha256", current.sha256, path)]
    for att, digest in products:
        label = f"link `{att.step_name}` product sha256"
        evidence.append(Evidence(label, digest.get("sha256", "(none)"), att.file))
        evidence += _signature_evidence(ctx, att)
    return Verdict(holds, message, Kind.UNSIGNED_ARTIFACT, tuple(evidence))


def _unsigned_reason(
    pred: ir.SignedBy, signers: set[str], stale: list[str], attested: bool, ctx: EvalContext
) -> str:
    need = f"role `{pred.role.name}` must sign it with {pred.threshold} distinct key(s)"
    if not attested:
        return f"no attestation names it as a product, so nothing signs it; {need}"
    if stale and not signers:
        return (
            f"its bytes changed after they were signed (the workspace digest is not the "
            f"one signed in {', '.join(f'`{s}`' for s in stale)}); {need}"
        )
    return f"signed at its current digest by {_names(ctx, signers)} only; {need}"


def performed_by(pred: ir.PerformedBy, step: str, ctx: EvalContext) -> Verdict:
    """Every link of ``step`` is signed, and only by keys of the role."""
    links = sorted(ctx.lineage.links_by_step.get(step, ()), key=lambda a: a.file)
    if not links:
        return Verdict(False, f"no signed link records step `{step}`", Kind.UNAUTHORIZED_STEP)
    evidence: list[Evidence] = []
    problems: list[str] = []
    for att in links:
        evidence += _signature_evidence(ctx, att)
        problem = _link_problem(att, pred.role, ctx)
        if problem:
            problems.append(problem)
    if problems:
        return Verdict(False, "; ".join(problems), Kind.UNAUTHORIZED_STEP, tuple(evidence))
    signers = set().union(*(a.signers for a in links))
    return Verdict(
        True,
        f"performed by {_names(ctx, signers)} of role `{pred.role.name}`",
        Kind.UNAUTHORIZED_STEP,
        tuple(evidence),
    )


def _link_problem(att: Attestation, role: ir.Role, ctx: EvalContext) -> str | None:
    outsiders = att.signers - role.keyids
    if outsiders:
        return f"`{att.file}` is signed by {_names(ctx, outsiders)}, not in role `{role.name}`"
    if att.signers & role.keyids:
        return None
    untrusted = [s.keyid[:12] for s in att.signatures if s.status is SignatureStatus.UNTRUSTED]
    if untrusted:
        keys = ", ".join(untrusted)
        return f"`{att.file}` is signed only by keys the policy does not trust ({keys})"
    return f"`{att.file}` carries no valid signature"


def derives_from(pred: ir.DerivesFrom, path: str, ctx: EvalContext) -> Verdict:
    """An unbroken chain of steps leads from the sources to ``path``."""
    sources = describe(pred.sources)
    if path in ctx.lineage.derived_from(pred.sources.globs):
        return Verdict(True, f"derives from {sources}", Kind.MISSING_LINEAGE)
    breaks = ctx.lineage.upstream_breaks(path)
    if not ctx.lineage.artifacts_matching(pred.sources.globs):
        reason = f"no {sources} exist in the graph"
    elif breaks:
        reason = f"its lineage back to {sources} is broken: " + "; ".join(b.reason for b in breaks)
    elif not ctx.lineage.producers(path):
        reason = f"no step produces it, so it cannot derive from {sources}"
    else:
        reason = f"no chain of steps leads from {sources} to it"
    evidence = tuple(e for b in breaks for e in b.evidence) or tuple(
        Evidence("upstream artifact", a) for a in ctx.lineage.upstream_artifacts(path)[:10]
    )
    return Verdict(False, reason, Kind.MISSING_LINEAGE, evidence)


def all_of(pred: ir.AllOf, subject: str, ctx: EvalContext) -> Verdict:
    verdicts = [evaluate_predicate(p, subject, ctx) for p in pred.items]
    failed = [v for v in verdicts if not v.holds]
    chosen = failed or verdicts
    return Verdict(
        not failed,
        "; ".join(v.message for v in chosen),
        chosen[0].kind,
        tuple(e for v in chosen for e in v.evidence),
    )


def any_of(pred: ir.AnyOf, subject: str, ctx: EvalContext) -> Verdict:
    verdicts = [evaluate_predicate(p, subject, ctx) for p in pred.items]
    passed = [v for v in verdicts if v.holds]
    if passed:
        return passed[0]
    return Verdict(
        False,
        " and ".join(v.message for v in verdicts),
        verdicts[0].kind,
        tuple(e for v in verdicts for e in v.evidence),
    )


def negation(pred: ir.Not, subject: str, ctx: EvalContext) -> Verdict:
    inner = evaluate_predicate(pred.item, subject, ctx)
    message = f"it must not hold that: {inner.message}" if inner.holds else inner.message
    return Verdict(not inner.holds, message, Kind.POLICY, inner.evidence)


PREDICATES: dict[type, Callable[[Any, str, EvalContext], Verdict]] = {
    ir.SignedBy: signed_by,
    ir.PerformedBy: performed_by,
    ir.DerivesFrom: derives_from,
    ir.AllOf: all_of,
    ir.AnyOf: any_of,
    ir.Not: negation,
}


def evaluate_predicate(pred: ir.Predicate, subject: str, ctx: EvalContext) -> Verdict:
    return PREDICATES[type(pred)](pred, subject, ctx)
