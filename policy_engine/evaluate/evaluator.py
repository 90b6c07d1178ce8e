"""The evaluator: a pure function of the compiled policy, the graph and the time.

It performs no I/O: hashing and signature checks happened while the graph
was built and are facts on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Finding, Kind, Undecided, Verdict
from policy_engine.evaluate.history import Superseded, superseded
from policy_engine.evaluate.integrity import builtin_findings
from policy_engine.evaluate.predicates import evaluate_predicate, surely_holding
from policy_engine.evaluate.selectors import describe, select
from policy_engine.evaluate.waivers import apply_waivers
from policy_engine.graph.model import ProvenanceGraph


@dataclass(frozen=True)
class ControlResult:
    control: ir.Control
    subjects: int  # how many subjects its rules examined
    findings: int  # findings not waived
    waived: int = 0
    undecided: int = 0  # subjects its rules could not judge

    @property
    def status(self) -> str:
        """``fail``, ``undecided``, ``waived`` or ``pass``, in that order of precedence."""
        if self.findings:
            return "fail"
        if self.undecided:
            return "undecided"
        return "waived" if self.waived else "pass"


@dataclass(frozen=True)
class Evaluation:
    """Every finding and control result; ``undecided``: rules the inputs could not judge."""

    findings: tuple[Finding, ...]
    controls: tuple[ControlResult, ...]
    warnings: tuple[str, ...] = ()
    undecided: tuple[Undecided, ...] = ()
    superseded: tuple[Superseded, ...] = ()  # history: statements about former bytes

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings that count: every finding no current waiver covers."""
        return tuple(f for f in self.findings if not f.waived)


def evaluate(policy: ir.PolicySet, graph: ProvenanceGraph, now: datetime) -> Evaluation:
    """Every finding of every control, the built-in ones, waivers applied, in a stable order.

    A rule the inputs cannot judge for a subject is ``undecided`` (no finding), unless
    the policy declares ``on unjudged fail``: it is then a finding of its control.
    """
    ctx = EvalContext(policy, graph, now)
    findings: list[Finding] = list(builtin_findings(ctx))
    undecided: list[Undecided] = []
    subjects: dict[str, int] = {}
    for control in policy.controls:
        subjects[control.id] = 0
        for rule in control.rules:
            selected = select(rule.selector, ctx)
            subjects[control.id] += len(selected)
            for finding in _check_rule(control, rule, selected, ctx):
                _sort_undecided(finding, policy, findings, undecided)
    waived = apply_waivers(findings, policy, now)
    located = (replace(f, subject_source=ctx.subject_source(f.subject)) for f in waived.findings)
    ordered = tuple(sorted(located, key=Finding.sort_key))
    open_ = Counter(u.control for u in undecided)
    results = tuple(_result(c, subjects[c.id], ordered, open_[c.id]) for c in policy.controls)
    return Evaluation(ordered, results, waived.warnings, tuple(undecided), superseded(ctx))


def _sort_undecided(
    found: Finding | Undecided,
    policy: ir.PolicySet,
    findings: list[Finding],
    undecided: list[Undecided],
) -> None:
    """A finding is kept; an undecided rule too, or as a finding when the policy says so."""
    if isinstance(found, Finding):
        findings.append(found)
    elif policy.unjudged_fail:
        findings.append(replace(found.finding, message=f"could not be judged: {found.message}"))
    else:
        undecided.append(found)


def _result(
    control: ir.Control, subjects: int, findings: tuple[Finding, ...], undecided: int
) -> ControlResult:
    own = [f for f in findings if f.control == control.id]
    waived = sum(f.waived for f in own)
    return ControlResult(control, subjects, len(own) - waived, waived, undecided)


def _check_rule(
    control: ir.Control, rule: ir.Rule, subjects: list[str], ctx: EvalContext
) -> Iterator[Finding | Undecided]:
    what = describe(rule.selector)
    kind = rule.selector.subject
    if rule.quantifier == "every" and not subjects:
        message = f"no {what} exist, so the rule cannot be shown to hold"
        yield _finding(control, rule, what, message, Kind.POLICY)
        return
    if rule.quantifier == "every":
        yield from _every(control, rule, subjects, ctx)
        return
    verdicts = [(s, evaluate_predicate(rule.predicate, Subject(kind, s), ctx)) for s in subjects]
    if rule.quantifier == "no":
        for subject, verdict in verdicts:
            if verdict.holds or not verdict.decided:
                message = f"must not hold, but {verdict.message}"
                found = _finding(control, rule, subject, message, Kind.POLICY, verdict)
                yield found if verdict.decided else Undecided(found, verdict.message)
    else:  # "some" and "at least": enough subjects must qualify
        passing = sum(v.holds for _, v in verdicts)
        if passing < rule.count:
            found = _too_few(control, rule, what, verdicts, passing)
            open_ = sum(not v.decided for _, v in verdicts)
            yield found if passing + open_ < rule.count else Undecided(found, found.message)


def _every(
    control: ir.Control, rule: ir.Rule, subjects: list[str], ctx: EvalContext
) -> Iterator[Finding | Undecided]:
    """A finding per subject whose verdict fails; those the screen passes are not evaluated."""
    kind = rule.selector.subject
    holding = surely_holding(rule.predicate, kind, subjects, ctx)
    if isinstance(holding, (set, frozenset)) and holding.issuperset(subjects):
        return  # every subject surely holds (checked in one call)
    for subject in [s for s in subjects if s not in holding]:
        verdict = evaluate_predicate(rule.predicate, Subject(kind, subject), ctx)
        if not verdict.holds:
            found = _finding(control, rule, subject, verdict.message, verdict.kind, verdict)
            yield found if verdict.decided else Undecided(found, verdict.message)


def _too_few(
    control: ir.Control, rule: ir.Rule, what: str, verdicts: list[tuple[str, Verdict]], passing: int
) -> Finding:
    reasons = "; ".join(f"`{s}`: {v.message}" for s, v in verdicts if not v.holds)
    kind = next((v.kind for _, v in verdicts if not v.holds), Kind.POLICY)
    if rule.quantifier == "some":
        message = f"none of the {what} qualifies: {reasons or f'no {what} exist'}"
    else:
        message = f"{passing} of the {what} qualify, at least {rule.count} must"
        message += f": {reasons}" if reasons else ""
    return _finding(control, rule, what, message, kind)


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
        message=f"{message} [risk: {', '.join(control.risks)}]" if control.risks else message,
        evidence=verdict.evidence if verdict else (),
        location=rule.location,
        risks=control.risks,
    )
