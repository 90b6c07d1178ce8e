"""What a step ran: its command as declared and as recorded, and its parameters."""

from __future__ import annotations

import shlex

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate import conditions
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates.registry import evaluates
from policy_engine.graph.model import Evidence, declared_argv


@evaluates(ir.RunsDeclaredCommand)
def runs_declared_command(
    pred: ir.RunsDeclaredCommand, subject: Subject, ctx: EvalContext
) -> Verdict:
    """Every link of the step recorded exactly the command the pipeline declares."""
    step = ctx.steps[subject.name]
    expected = declared_argv(step.cmd)
    links = ctx.lineage.links_by_step.get(step.name, [])
    if not links:
        return Verdict(False, "no link records what the step ran", Kind.UNAUTHORIZED_STEP)
    wrong = [a for a in links if list(a.command) != expected]
    declared = Evidence("declared command", shlex.join(expected), str(step.source))
    recorded = [Evidence("recorded command", shlex.join(a.command), a.file) for a in wrong]
    evidence = (declared, *recorded)
    if wrong:
        files = ", ".join(f"`{a.file}`" for a in wrong)
        return Verdict(
            False,
            f"{files} recorded a command other than the declared one",
            Kind.UNAUTHORIZED_STEP,
            evidence,
        )
    return Verdict(True, "ran its declared command", Kind.UNAUTHORIZED_STEP, evidence)


@evaluates(ir.CommandMatches)
def command_matches(pred: ir.CommandMatches, subject: Subject, ctx: EvalContext) -> Verdict:
    """The declared command and every recorded one match an expected pattern (`*` any text)."""
    step = ctx.steps[subject.name]
    commands = [(" && ".join(step.cmd), str(step.source))] + [
        (shlex.join(a.command), a.file) for a in ctx.lineage.links_by_step.get(step.name, [])
    ]
    wrong = [
        (c, where)
        for c, where in commands
        if not any(globs.matches_text(p, c) for p in pred.patterns)
    ]
    expected = " or ".join(f"`{p}`" for p in pred.patterns)
    if wrong:
        evidence = tuple(Evidence("command", c, where) for c, where in wrong)
        return Verdict(
            False,
            f"runs a command that does not match {expected}",
            Kind.UNAUTHORIZED_STEP,
            evidence,
        )
    return Verdict(True, f"its command matches {expected}", Kind.UNAUTHORIZED_STEP)


@evaluates(ir.HasParam)
def has_param(pred: ir.HasParam, subject: Subject, ctx: EvalContext) -> Verdict:
    params = ctx.steps[subject.name].params
    if pred.key in params:
        value = params[pred.key]
        return Verdict(
            True, f"param `{pred.key}` is set", Kind.POLICY, (Evidence(pred.key, repr(value)),)
        )
    return Verdict(False, f"param `{pred.key}` is not set in the lock", Kind.POLICY)


@evaluates(ir.ParamCompare)
def param_compare(pred: ir.ParamCompare, subject: Subject, ctx: EvalContext) -> Verdict:
    params = ctx.steps[subject.name].params
    found = params.get(pred.key, conditions.MISSING)
    wanted = f"param `{pred.key}` {pred.op} {pred.value!r}"
    if found is conditions.MISSING:
        return Verdict(False, f"{wanted} cannot hold: it is not set", Kind.POLICY)
    evidence = (Evidence(pred.key, repr(found), str(ctx.steps[subject.name].source)),)
    if conditions.compare(found, pred.op, pred.value):
        return Verdict(True, f"{wanted} holds", Kind.POLICY, evidence)
    return Verdict(False, f"{wanted} does not hold: it is {found!r}", Kind.POLICY, evidence)
