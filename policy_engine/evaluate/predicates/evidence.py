"""Evidence of activities: signed, fresh statements about the right bytes, with good results."""

from __future__ import annotations

from datetime import timedelta

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate import conditions
from policy_engine.evaluate.context import FROM_LOCK, EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates.common import key_names
from policy_engine.evaluate.predicates.registry import evaluates
from policy_engine.graph.model import Attestation, Evidence


def _subject_paths(subject: Subject, ctx: EvalContext) -> list[str]:
    """The artifacts a statement may be about: the artifact, or a step's outputs."""
    if subject.kind == "artifacts":
        return [subject.name]
    node = ctx.graph.step_id(subject.name)
    return sorted(ctx.graph.g.nodes[n]["data"].path for n in ctx.lineage.full.successors(node))


def _problems(
    pred: ir.AttestedWith, att: Attestation, path: str, current: bool | None, ctx: EvalContext
) -> list[str]:
    """Why a statement does not satisfy the predicate (empty when it does).

    ``current`` says whether it is about the current bytes of ``path`` (None: cannot be told).
    """
    problems: list[str] = []
    invalid = ctx.schema_problem(att)
    if invalid:
        problems.append(f"its predicate does not match the schema of its type: {invalid}")
    if current is False:
        problems.append(f"it is about other bytes than `{path}` has now")
    keys = att.signers & pred.role.keyids if pred.role else att.signers
    if len(keys) < pred.threshold:
        who = f"role `{pred.role.name}`" if pred.role else "a trusted key"
        problems.append(f"it is signed by {key_names(ctx, keys)}, not by {pred.threshold} of {who}")
    for condition in pred.conditions:
        ok, reason = conditions.check(att.predicate, condition)
        if not ok:
            problems.append(f"`{conditions.describe(condition)}` fails: {reason}")
    if pred.within is not None:
        problems += _staleness(att, pred.within, ctx)
    return problems


def _staleness(att: Attestation, window: timedelta, ctx: EvalContext) -> list[str]:
    if att.issued_at is None:
        return ["it states no time, so its freshness cannot be shown"]
    if att.issued_at > ctx.now:
        return [f"it is dated {att.issued_at.isoformat()}, after the evaluation time: not fresh"]
    age = ctx.now - att.issued_at
    if age > window:
        return [f"it was issued {age.days} day(s) ago, more than the {window.days} day(s) allowed"]
    return []


@evaluates(ir.AttestedWith)
def attested_with(pred: ir.AttestedWith, subject: Subject, ctx: EvalContext) -> Verdict:
    """A valid, signed, fresh statement of the type about the subject's current bytes."""
    wanted = f"`{pred.predicate_type}`"
    evidence: list[Evidence] = []
    failures: list[str] = []
    unknown: list[str] = []
    for path in _subject_paths(subject, ctx):
        for att, digest in ctx.subjects_by_path.get(path, []):
            if not globs.matches(pred.predicate_type, att.predicate_type):
                continue
            current = ctx.at_current_digest(path, digest)
            problems = _problems(pred, att, path, current, ctx)
            evidence.append(Evidence("statement", att.predicate_type, att.file))
            if not problems and current is None:
                unknown.append(f"`{att.file}` (about `{path}`)")
            elif not problems:
                message = f"attested with {wanted} in `{att.file}`"
                if ctx.graph.locked(path) is not None:
                    message += f" ({FROM_LOCK})"
                return Verdict(True, message, Kind.MISSING_EVIDENCE, tuple(evidence))
            else:
                failures.append(f"`{att.file}`: " + "; ".join(problems))
    if unknown:
        message = (
            f"{', '.join(unknown)} would attest it, but the bytes are not materialised and "
            "the statement names no digest the DVC lock records, so it cannot be judged"
        )
        return Verdict(False, message, Kind.MISSING_EVIDENCE, tuple(evidence), decided=False)
    if not failures:
        return Verdict(False, f"no attestation of type {wanted} is about it", Kind.MISSING_EVIDENCE)
    return Verdict(
        False,
        f"no valid attestation of type {wanted}: " + " | ".join(failures),
        Kind.MISSING_EVIDENCE,
        tuple(evidence),
    )


@evaluates(ir.IssuedWithin)
def issued_within(pred: ir.IssuedWithin, subject: Subject, ctx: EvalContext) -> Verdict:
    att = ctx.attestations[subject.name]
    stale = _staleness(att, pred.window, ctx)
    when = Evidence(
        "issued at", att.issued_at.isoformat() if att.issued_at else "(unknown)", att.file
    )
    if stale:
        return Verdict(False, stale[0], Kind.MISSING_EVIDENCE, (when,))
    return Verdict(True, f"issued within {pred.window.days} day(s)", Kind.MISSING_EVIDENCE, (when,))


@evaluates(ir.Satisfies)
def satisfies(pred: ir.Satisfies, subject: Subject, ctx: EvalContext) -> Verdict:
    att = ctx.attestations[subject.name]
    results = [(c, *conditions.check(att.predicate, c)) for c in pred.conditions]
    failed = [f"`{conditions.describe(c)}` fails: {why}" for c, ok, why in results if not ok]
    evidence = tuple(Evidence(conditions.describe(c), why, att.file) for c, _, why in results)
    if failed:
        return Verdict(False, "; ".join(failed), Kind.MISSING_EVIDENCE, evidence)
    return Verdict(True, "its predicate satisfies every condition", Kind.MISSING_EVIDENCE, evidence)
