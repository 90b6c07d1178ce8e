"""The evaluator: a pure function of the compiled policy, the graph and the time.

It performs no I/O: hashing and signature checks happened while the graph
was built and are facts on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext
from policy_engine.evaluate.findings import Finding, Kind, Verdict
from policy_engine.evaluate.integrity import builtin_findings
from policy_engine.evaluate.predicates import evaluate_predicate
from policy_engine.evaluate.selectors import describe, select
from policy_engine.graph.model import ProvenanceGraph


@dataclass(frozen=True)
class ControlResult:
    control: ir.Control
    subjects: int  # how many subjects its rules examined
    findings: int


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    controls: tuple[ControlResult, ...]


def evaluate(policy: ir.PolicySet, graph: ProvenanceGraph, now: datetime) -> Evaluation:
    """Every finding of every control, plus the built-in integrity findings, in a stable order."""
    ctx = EvalContext(policy, graph, now)
    findings: list[Finding] = list(builtin_findings(ctx))
    results: list[ControlResult] = []
    for control in policy.controls:
        subjects, found = 0, []
        for rule in control.rules:
            selected = select(rule.selector, ctx)
            subjects += len(selected)
            found += list(_check_rule(control, rule, selected, ctx))
        findings += found
        results.append(ControlResult(control, subjects, len(found)))
    located = (replace(f, subject_source=ctx.subject_source(f.subject)) for f in findings)
    return Evaluation(tuple(sorted(located, key=Finding.sort_key)), tuple(results))


def _check_rule(
    control: ir.Control, rule: ir.Rule, subjects: list[str], ctx: EvalContext
) -> Iterator[Finding]:
    what = describe(rule.selector)
    if rule.quantifier == "every" and not subjects:
        yield _finding(
            control,
            rule,
            what,
            f"no {what} exist, so the rule cannot be shown to hold",
            Kind.POLICY,
        )
        return
    verdicts = [(s, evaluate_predicate(rule.predicate, s, ctx)) for s in subjects]
    if rule.quantifier == "every":
        for subject, verdict in verdicts:
            if not verdict.holds:
                yield _finding(control, rule, subject, verdict.message, verdict.kind, verdict)
    elif rule.quantifier == "some":
        if not any(v.holds for _, v in verdicts):
            reasons = "; ".join(f"`{s}`: {v.message}" for s, v in verdicts) or f"no {what} exist"
            kind = verdicts[0][1].kind if verdicts else Kind.POLICY
            yield _finding(control, rule, what, f"none of the {what} qualifies: {reasons}", kind)
    else:  # "no"
        for subject, verdict in verdicts:
            if verdict.holds:
                yield _finding(
                    control,
                    rule,
                    subject,
                    f"must not hold, but {verdict.message}",
                    Kind.POLICY,
                    verdict,
                )


def _finding(
    control: ir.Control,
    rule: ir.Rule,
    subject: str,
    message: str,
    kind: Kind,
    verdict: Verdict | None = None,
) -> Finding:
    return Finding(
        control=control.id,
        title=control.title,
        severity=control.severity,
        stage=control.stage,
        kind=kind,
        subject=subject,
        message=message,
        evidence=verdict.evidence if verdict else (),
        location=rule.location,
    )
