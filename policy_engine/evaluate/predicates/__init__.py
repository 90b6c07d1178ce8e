"""Predicates: one small function per IR predicate type, each returning a Verdict.

``PREDICATES`` maps an IR type to its function; every function has the same
signature, ``(predicate, subject, ctx) -> Verdict``. The boolean combinators
live here because they call back into the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates import evidence, lineage, signatures, steps


def all_of(pred: ir.AllOf, subject: Subject, ctx: EvalContext) -> Verdict:
    verdicts = [evaluate_predicate(p, subject, ctx) for p in pred.items]
    failed = [v for v in verdicts if not v.holds]
    chosen = failed or verdicts
    return Verdict(
        not failed,
        "; ".join(v.message for v in chosen),
        chosen[0].kind,
        tuple(e for v in chosen for e in v.evidence),
    )


def any_of(pred: ir.AnyOf, subject: Subject, ctx: EvalContext) -> Verdict:
    verdicts = [evaluate_predicate(p, subject, ctx) for p in pred.items]
    passed = [v for v in verdicts if v.holds]
    if passed:
        return passed[0]
    return Verdict(
        False,
        " and ".join(dict.fromkeys(v.message for v in verdicts)),
        verdicts[0].kind,
        tuple(e for v in verdicts for e in v.evidence),
    )


def negation(pred: ir.Not, subject: Subject, ctx: EvalContext) -> Verdict:
    inner = evaluate_predicate(pred.item, subject, ctx)
    message = f"it must not hold that: {inner.message}" if inner.holds else inner.message
    return Verdict(not inner.holds, message, Kind.POLICY, inner.evidence)


PREDICATES: dict[type, Callable[[Any, Subject, EvalContext], Verdict]] = {
    ir.SignedBy: signatures.signed_by,
    ir.PerformedBy: signatures.performed_by,
    ir.DerivesFrom: lineage.derives_from,
    ir.ProducedBy: lineage.produced_by,
    ir.ReachesSource: lineage.reaches_source,
    ir.NoLineageThrough: lineage.no_lineage_through,
    ir.Tracked: lineage.tracked,
    ir.MatchesWorkspace: lineage.matches_workspace,
    ir.RunsDeclaredCommand: steps.runs_declared_command,
    ir.CommandMatches: steps.command_matches,
    ir.HasParam: steps.has_param,
    ir.ParamCompare: steps.param_compare,
    ir.AttestedWith: evidence.attested_with,
    ir.IssuedWithin: evidence.issued_within,
    ir.Satisfies: evidence.satisfies,
    ir.AllOf: all_of,
    ir.AnyOf: any_of,
    ir.Not: negation,
}


def evaluate_predicate(pred: ir.Predicate, subject: Subject, ctx: EvalContext) -> Verdict:
    return PREDICATES[type(pred)](pred, subject, ctx)


__all__ = ["PREDICATES", "evaluate_predicate"]
