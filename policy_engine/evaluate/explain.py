"""Why a control passed or failed: a tree from the control to its rules, the subjects
each rule selected, the predicate's parts and the evidence behind each verdict.

Pure, like the evaluator: the same policy, graph and time give the same tree, and
the control statuses are the evaluator's own (waivers applied).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.evaluator import ControlResult, Evaluation, evaluate
from policy_engine.evaluate.findings import Finding, Verdict
from policy_engine.evaluate.predicates import evaluate_predicate
from policy_engine.evaluate.selectors import describe, select
from policy_engine.graph.model import Evidence, ProvenanceGraph
from policy_engine.language import ast

MAX_SUBJECTS = 50  # per rule; failing subjects are shown first


@dataclass(frozen=True)
class Node:
    """One line of the explanation: what it is, its status, why, where, and its parts.

    ``status`` is ``pass``, ``fail``, ``waived``, ``undecided`` or ``info`` (evidence).
    """

    label: str
    status: str
    message: str = ""
    location: str | None = None
    children: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Explanation:
    controls: tuple[Node, ...]
    evaluation: Evaluation


def explain(
    policy: ir.PolicySet,
    graph: ProvenanceGraph,
    now: datetime,
    controls: Sequence[str] = (),
    subjects: Sequence[str] = (),
) -> Explanation:
    """The trees of the controls whose ids match ``controls`` (globs; all when empty), over
    the subjects matching ``subjects`` (globs; all when empty)."""
    evaluation = evaluate(policy, graph, now)
    ctx = EvalContext(policy, graph, now)
    chosen = [
        r
        for r in evaluation.controls
        if not controls or globs.matches_any(tuple(controls), r.control.id)
    ]
    nodes = tuple(_control(r, evaluation.findings, ctx, tuple(subjects)) for r in chosen)
    return Explanation(nodes, evaluation)


def _where(location: ir.Location) -> str:
    return f"{location.file}:{location.line}"


def _control(
    result: ControlResult, findings: Sequence[Finding], ctx: EvalContext, subjects: tuple[str, ...]
) -> Node:
    control = result.control
    own = [f for f in findings if f.control == control.id]
    rules = tuple(_rule(n, rule, own, ctx, subjects) for n, rule in enumerate(control.rules, 1))
    message = f"{result.subjects} subject(s) examined, {result.findings} finding(s)"
    message += f", {result.waived} waived" if result.waived else ""
    label = f"{control.id} {control.title}"
    return Node(label, result.status, message, _where(control.location), rules)


def _rule(
    number: int, rule: ir.Rule, findings: list[Finding], ctx: EvalContext, only: tuple[str, ...]
) -> Node:
    quantifier = f"at least {rule.count}" if rule.quantifier == "at least" else rule.quantifier
    label = f"rule {number}: {quantifier} {describe(rule.selector)}"
    mine = [f for f in findings if f.location == rule.location]
    status = _rule_status(mine)
    selected = [s for s in select(rule.selector, ctx) if not only or globs.matches_any(only, s)]
    if not selected:
        return Node(label, status, "no subject selected", _where(rule.location))
    nodes = [_subject(rule, s, mine, ctx) for s in selected]
    nodes.sort(key=lambda n: n.status == "pass")
    shown = tuple(nodes[:MAX_SUBJECTS])
    hidden = len(nodes) - len(shown)
    if hidden:
        shown += (Node(f"… and {hidden} more subject(s)", "info"),)
    message = f"{len(selected)} subject(s) selected"
    return Node(label, status, message, _where(rule.location), shown)


def _rule_status(findings: list[Finding]) -> str:
    if any(not f.waived for f in findings):
        return "fail"
    return "waived" if findings else "pass"


def _subject(rule: ir.Rule, name: str, findings: list[Finding], ctx: EvalContext) -> Node:
    subject = Subject(rule.selector.subject, name)
    tree = _predicate(rule.predicate, subject, ctx)
    holds = tree.status == "pass"
    ok = not holds if rule.quantifier == "no" else holds
    status = tree.status if tree.status == "undecided" else ("pass" if ok else "fail")
    waived = next((f.waiver for f in findings if f.subject == name and f.waiver), None)
    message = ""
    if waived is not None:
        status = "waived"
        message = f"waived by {waived.owner} until {waived.expires.isoformat()}: {waived.reason}"
    return Node(name, status, message, None, (tree,))


def _predicate(pred: ir.Predicate, subject: Subject, ctx: EvalContext) -> Node:
    verdict = evaluate_predicate(pred, subject, ctx)
    status = _status(verdict)
    if isinstance(pred, ir.AllOf | ir.AnyOf):
        word = "all of" if isinstance(pred, ir.AllOf) else "any of"
        parts = tuple(_predicate(p, subject, ctx) for p in pred.items)
        return Node(word, status, "", None, parts)
    if isinstance(pred, ir.Not):
        return Node("not", status, "", None, (_predicate(pred.item, subject, ctx),))
    evidence = tuple(_evidence(e) for e in verdict.evidence)
    return Node(atom_label(pred), status, verdict.message, None, evidence)


def _status(verdict: Verdict) -> str:
    if not verdict.decided:
        return "undecided"
    return "pass" if verdict.holds else "fail"


def _evidence(item: Evidence) -> Node:
    return Node(f"{item.label}: {item.value}", "info", "", item.source)


def atom_label(pred: object) -> str:
    """A predicate in words: its phrase (``signed by``) and what it names."""
    syntax = getattr(ast, type(pred).__name__).syntax
    details = [d for f in fields(pred) for d in _detail(getattr(pred, f.name))]  # type: ignore[arg-type]
    return " ".join([syntax.verb + syntax.phrase, *details]).strip()


def _detail(value: object) -> Iterator[str]:
    if isinstance(value, ir.Role):
        yield value.name
    elif isinstance(value, ir.Selector):
        yield describe(value)
    elif isinstance(value, str) and value:
        yield f"`{value}`"
    elif isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        yield ", ".join(f"`{v}`" for v in value)
