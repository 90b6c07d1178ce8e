"""Predicates: one small function per IR predicate type, each returning a Verdict.

Each family module registers its functions in ``PREDICATES`` (``registry.py``);
importing this package imports every family. The boolean combinators live here.
"""

from __future__ import annotations

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates import evidence, lineage, signatures, steps, tracking
from policy_engine.evaluate.predicates.registry import (
    PREDICATES,
    SCREENS,
    evaluate_predicate,
    evaluates,
    surely_holding,
)

FAMILIES = (evidence, lineage, signatures, steps, tracking)  # imported for their registrations


@evaluates(ir.AllOf)
def all_of(pred: ir.AllOf, subject: Subject, ctx: EvalContext) -> Verdict:
    """Holds when every item holds; fails when one fails; else (some undecided) undecided."""
    verdicts = [evaluate_predicate(p, subject, ctx) for p in pred.items]
    failed = [v for v in verdicts if v.decided and not v.holds]
    undecided = [v for v in verdicts if not v.decided]
    chosen = failed or undecided or verdicts
    return Verdict(
        not (failed or undecided),
        "; ".join(v.message for v in chosen),
        chosen[0].kind,
        tuple(e for v in chosen for e in v.evidence),
        decided=bool(failed) or not undecided,
    )


@evaluates(ir.AnyOf)
def any_of(pred: ir.AnyOf, subject: Subject, ctx: EvalContext) -> Verdict:
    """Holds when one item holds; fails when every item fails; else undecided."""
    verdicts = [evaluate_predicate(p, subject, ctx) for p in pred.items]
    passed = [v for v in verdicts if v.holds]
    if passed:
        return passed[0]
    undecided = [v for v in verdicts if not v.decided]
    return Verdict(
        False,
        " and ".join(dict.fromkeys(v.message for v in verdicts)),
        (undecided or verdicts)[0].kind,
        tuple(e for v in verdicts for e in v.evidence),
        decided=not undecided,
    )


@evaluates(ir.Not)
def negation(pred: ir.Not, subject: Subject, ctx: EvalContext) -> Verdict:
    """The opposite of the item; an undecided item stays undecided."""
    inner = evaluate_predicate(pred.item, subject, ctx)
    if not inner.decided:
        return inner
    message = f"it must not hold that: {inner.message}" if inner.holds else inner.message
    return Verdict(not inner.holds, message, Kind.POLICY, inner.evidence)


__all__ = ["FAMILIES", "PREDICATES", "SCREENS", "evaluate_predicate", "surely_holding"]
