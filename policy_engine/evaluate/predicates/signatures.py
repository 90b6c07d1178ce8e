"""Who signed: artifacts signed at their current digest, attestations signed, steps performed."""

from __future__ import annotations

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates.common import key_names, need, signature_evidence
from policy_engine.evaluate.predicates.registry import evaluates
from policy_engine.graph.model import Attestation, Evidence, SignatureStatus


@evaluates(ir.SignedBy)
def signed_by(pred: ir.SignedBy, subject: Subject, ctx: EvalContext) -> Verdict:
    if subject.kind == "attestations":
        return _attestation_signed_by(pred, ctx.attestations[subject.name], ctx)
    return _artifact_signed_by(pred, subject.name, ctx)


def _artifact_signed_by(pred: ir.SignedBy, path: str, ctx: EvalContext) -> Verdict:
    """Distinct keys of the role that signed ``path`` at its current workspace digest."""
    current = ctx.graph.workspace(path)
    if current is None:
        return Verdict(
            False,
            f"`{path}` is not in the workspace, so no signature can cover its current bytes",
            Kind.UNSIGNED_ARTIFACT,
        )
    products = [*ctx.products.get(path, []), *ctx.subjects_by_path.get(path, [])]
    signers: set[str] = set()
    stale: list[str] = []
    for att, digest in products:
        if ctx.at_current_digest(path, digest):
            signers |= att.signers & pred.role.keyids
        else:
            stale.append(att.file)
    holds = len(signers) >= pred.threshold
    if holds:
        message = f"signed at its current digest by {key_names(ctx, signers)}"
    else:
        message = _unsigned_reason(pred, signers, stale, bool(products), ctx)
    evidence = [Evidence("workspace sha256", current.sha256, path)]
    for att, digest in products:
        what = f"link `{att.step_name}` product" if att.kind == "link" else "statement subject"
        algorithm = "sha256" if "sha256" in digest or not digest else min(digest)
        evidence.append(Evidence(f"{what} {algorithm}", digest.get(algorithm, "(none)"), att.file))
        evidence += signature_evidence(ctx, att)
    return Verdict(holds, message, Kind.UNSIGNED_ARTIFACT, tuple(evidence))


def _unsigned_reason(
    pred: ir.SignedBy, signers: set[str], stale: list[str], attested: bool, ctx: EvalContext
) -> str:
    required = need(pred.role.name, pred.threshold)
    if not attested:
        return f"no attestation names it as a product, so nothing signs it; {required}"
    if stale and not signers:
        files = ", ".join(f"`{s}`" for s in stale)
        return (
            "its bytes changed after they were signed (the workspace digest is not the one "
            f"signed in {files}); {required}"
        )
    return f"signed at its current digest by {key_names(ctx, signers)} only; {required}"


def _attestation_signed_by(pred: ir.SignedBy, att: Attestation, ctx: EvalContext) -> Verdict:
    signers = att.signers & pred.role.keyids
    evidence = tuple(signature_evidence(ctx, att))
    if len(signers) >= pred.threshold:
        return Verdict(
            True, f"signed by {key_names(ctx, signers)}", Kind.MISSING_EVIDENCE, evidence
        )
    return Verdict(
        False,
        f"signed by {key_names(ctx, signers)} of the role; {need(pred.role.name, pred.threshold)}",
        Kind.MISSING_EVIDENCE,
        evidence,
    )


@evaluates(ir.PerformedBy)
def performed_by(pred: ir.PerformedBy, subject: Subject, ctx: EvalContext) -> Verdict:
    """Every link of the step is signed, only by keys of the role, and by at least
    ``threshold`` distinct keys of it over all the step's links."""
    step = subject.name
    links = sorted(ctx.lineage.links_by_step.get(step, ()), key=lambda a: a.file)
    if not links:
        return Verdict(False, f"no signed link records step `{step}`", Kind.UNAUTHORIZED_STEP)
    evidence: list[Evidence] = []
    problems: list[str] = []
    for att in links:
        evidence += signature_evidence(ctx, att)
        problem = _link_problem(att, pred.role, ctx)
        if problem:
            problems.append(problem)
    signers: set[str] = set().union(*(a.signers for a in links))
    if len(signers) < pred.threshold:
        problems.append(
            f"performed by {key_names(ctx, signers)} only; it needs {pred.threshold} distinct "
            f"key(s) of role `{pred.role.name}`"
        )
    if problems:
        return Verdict(False, "; ".join(problems), Kind.UNAUTHORIZED_STEP, tuple(evidence))
    return Verdict(
        True,
        f"performed by {key_names(ctx, signers)} of role `{pred.role.name}`",
        Kind.UNAUTHORIZED_STEP,
        tuple(evidence),
    )


def _link_problem(att: Attestation, role: ir.Role, ctx: EvalContext) -> str | None:
    outsiders = att.signers - role.keyids
    if outsiders:
        return f"`{att.file}` is signed by {key_names(ctx, outsiders)}, not in role `{role.name}`"
    if att.signers & role.keyids:
        return None
    untrusted = [s.keyid[:12] for s in att.signatures if s.status is SignatureStatus.UNTRUSTED]
    if untrusted:
        keys = ", ".join(untrusted)
        return f"`{att.file}` is signed only by keys the policy does not trust ({keys})"
    return f"`{att.file}` carries no valid signature"


@evaluates(ir.ProducerPerformedBy)
def producer_performed_by(
    pred: ir.ProducerPerformedBy, subject: Subject, ctx: EvalContext
) -> Verdict:
    """A step that produced the artifact was performed by the role (as ``performed by``)."""
    producers = ctx.lineage.producers(subject.name)
    if not producers:
        return Verdict(False, "no step produces it", Kind.UNAUTHORIZED_STEP)
    role = ir.PerformedBy(pred.role, pred.threshold)
    verdicts = {p: performed_by(role, Subject("steps", p), ctx) for p in producers}
    passed = [p for p, v in verdicts.items() if v.holds]
    shown = passed or producers
    evidence = tuple(e for p in shown for e in verdicts[p].evidence)
    reasons = "; ".join(f"step `{p}`: {verdicts[p].message}" for p in shown)
    return Verdict(bool(passed), reasons, Kind.UNAUTHORIZED_STEP, evidence)
