"""Who signed: artifacts signed at their current digest, attestations signed, steps performed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import chain
from typing import TypeVar

from policy_engine.compiler import ir
from policy_engine.evaluate.context import FROM_LOCK, EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates.common import key_names, need
from policy_engine.evaluate.predicates.registry import evaluates, screens
from policy_engine.graph.model import Attestation, Evidence, SignatureStatus

T = TypeVar("T")


@evaluates(ir.SignedBy)
def signed_by(pred: ir.SignedBy, subject: Subject, ctx: EvalContext) -> Verdict:
    if subject.kind == "attestations":
        return _attestation_signed_by(pred, ctx.attestations[subject.name], ctx)
    return _artifact_signed_by(pred, subject.name, ctx)


def _artifact_signed_by(pred: ir.SignedBy, path: str, ctx: EvalContext) -> Verdict:
    """Distinct keys of the role that signed ``path`` at its current digest.

    The current digest is that of the bytes at hand, or, for a DVC output not
    materialised, the one DVC records (a signature naming no digest in that
    algorithm cannot be compared: the verdict may then be undecided).
    """
    current = ctx.current_evidence(path)
    if current is None:
        return Verdict(
            False,
            f"`{path}` is not in the workspace, so no signature can cover its current bytes",
            Kind.UNSIGNED_ARTIFACT,
        )
    products = ctx.signatures_by_path.get(path, [])
    signers: set[str] = set()
    stale: list[str] = []
    unknown: dict[str, frozenset[str]] = {}
    for att, digest in products:
        match = ctx.at_current_digest(path, digest)
        if match:
            signers |= att.signers & pred.role.keyids
        elif match is None:
            unknown[att.file] = att.signers & pred.role.keyids
        else:
            stale.append(att.file)
    evidence = (current, *_product_evidence(ctx, path, products))
    if len(signers) >= pred.threshold:
        message = _from_lock(
            ctx, path, f"signed at its current digest by {key_names(ctx, signers)}"
        )
        return Verdict(True, message, Kind.UNSIGNED_ARTIFACT, evidence)
    files = ctx.directory_files(path)
    if files:
        return _directory_signed_by(pred, path, files, ctx)
    if len(signers.union(*unknown.values())) >= pred.threshold:
        return Verdict(
            False, _undecided(ctx, path, unknown), Kind.UNSIGNED_ARTIFACT, evidence, False
        )
    message = _from_lock(ctx, path, _unsigned_reason(pred, signers, stale, bool(products), ctx))
    return Verdict(False, message, Kind.UNSIGNED_ARTIFACT, evidence)


@screens(ir.SignedBy)
def signed_by_screen(
    pred: ir.SignedBy, kind: str, subjects: list[str], ctx: EvalContext
) -> set[str]:
    """The artifacts enough keys of the role signed by the sha256 of their bytes at hand
    (the usual case, found attestation by attestation); others are left to the evaluator
    (bytes not at hand, other algorithms, folders signed file by file, attestations)."""
    if kind != "artifacts":
        return set()
    current, by_key = ctx.current_sha256.get, dict[str, set[str]]()
    for att in ctx.attestations.values():
        keys = att.signers & pred.role.keyids
        if keys:
            tables = (att.products, att.subjects) if ctx.signs(att) else (att.products,)
            signed = {
                path
                for table in tables
                for path, digest in table.items()
                if digest.get("sha256") == current(path, _ABSENT)  # never equal when absent
            }
            for key in keys:
                by_key.setdefault(key, set()).update(signed)
    return _in_at_least(max(pred.threshold, 1), list(by_key.values()))


_ABSENT = object()


def _in_at_least(count: int, sets: list[set[T]]) -> set[T]:
    """The items that are in at least ``count`` (>= 1) of the ``sets``."""
    if count == len(sets):
        return set.intersection(*sets)
    counted = Counter(chain.from_iterable(sets))
    return {item for item, times in counted.items() if times >= count}


def _directory_signed_by(
    pred: ir.SignedBy, path: str, files: list[str], ctx: EvalContext
) -> Verdict:
    """A DVC directory output no signature names is signed when every file of its ``.dir``
    manifest is (links record a folder's files one by one)."""
    verdicts = {f: _artifact_signed_by(pred, f, ctx) for f in files}
    failing = [f for f, v in verdicts.items() if not v.holds]
    if not failing:
        message = (
            f"each of its {len(files)} files (its `.dir` manifest) is signed by {pred.role.name}"
        )
        evidence = tuple(Evidence("signed file", f) for f in files[:10])
        return Verdict(True, message, Kind.UNSIGNED_ARTIFACT, evidence)
    shown = "; ".join(f"`{f}`: {verdicts[f].message}" for f in failing[:3])
    more = f" (and {len(failing) - 3} more)" if len(failing) > 3 else ""
    evidence = tuple(e for f in failing[:3] for e in verdicts[f].evidence)
    decided = all(verdicts[f].decided for f in failing)
    message = (
        f"no signature names the folder, and {len(failing)} of its {len(files)} files "
        f"are not signed: {shown}{more}"
    )
    return Verdict(False, message, Kind.UNSIGNED_ARTIFACT, evidence, decided)


def _from_lock(ctx: EvalContext, path: str, message: str) -> str:
    return f"{message} ({FROM_LOCK})" if ctx.graph.locked(path) is not None else message


def _undecided(ctx: EvalContext, path: str, unknown: dict[str, frozenset[str]]) -> str:
    locked = ctx.graph.locked(path)
    assert locked is not None
    files = ", ".join(f"`{f}`" for f in unknown)
    return (
        f"its bytes are not materialised, and {files} sign(s) no `{locked.algorithm}` digest "
        f"to compare with what `{locked.source.file}` records, so it cannot be judged"
    )


def _product_evidence(
    ctx: EvalContext, path: str, products: list[tuple[Attestation, Mapping[str, str]]]
) -> Iterator[Evidence]:
    locked = ctx.graph.locked(path)
    for att, digest in products:
        what = f"link `{att.step_name}` product" if att.kind == "link" else "statement subject"
        algorithm = "sha256" if "sha256" in digest or not digest else min(digest)
        yield Evidence(f"{what} {algorithm}", digest.get(algorithm, "(none)"), att.file)
        if locked is not None and locked.algorithm != algorithm:
            value = digest.get(locked.algorithm, "(none)")
            yield Evidence(f"{what} {locked.algorithm}", value, att.file)
        yield from ctx.signature_evidence(att)


def _unsigned_reason(
    pred: ir.SignedBy, signers: set[str], stale: list[str], attested: bool, ctx: EvalContext
) -> str:
    required = need(pred.role.name, pred.threshold)
    if not attested:
        return f"no attestation names it as a product, so nothing signs it; {required}"
    if stale and not signers:
        files = ", ".join(f"`{s}`" for s in stale)
        return (
            "its bytes changed after they were signed (the current digest is not the one "
            f"signed in {files}); {required}"
        )
    return f"signed at its current digest by {key_names(ctx, signers)} only; {required}"


def _attestation_signed_by(pred: ir.SignedBy, att: Attestation, ctx: EvalContext) -> Verdict:
    signers = att.signers & pred.role.keyids
    evidence = ctx.signature_evidence(att)
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
        evidence += ctx.signature_evidence(att)
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


@screens(ir.PerformedBy)
def performed_by_screen(
    pred: ir.PerformedBy, kind: str, subjects: list[str], ctx: EvalContext
) -> set[str]:
    """The steps for which ``performed by`` holds: each link signed by keys of the role
    only, and enough distinct keys of it over all the step's links."""
    by_step = ctx.lineage.links_by_step
    return {step for step in subjects if _performed(pred, by_step.get(step, []))}


def _performed(pred: ir.PerformedBy, links: list[Attestation]) -> bool:
    keyids = pred.role.keyids
    if not links or not all(_by_role_only(att, keyids) for att in links):
        return False
    return len(frozenset().union(*(att.signers for att in links))) >= pred.threshold


def _by_role_only(att: Attestation, keyids: frozenset[str]) -> bool:
    """Whether ``att`` is signed, and only by keys of the role (``_link_problem`` finds none)."""
    return bool(att.signers) and att.signers <= keyids


def _link_problem(att: Attestation, role: ir.Role, ctx: EvalContext) -> str | None:
    if _by_role_only(att, role.keyids):
        return None
    outsiders = att.signers - role.keyids
    if outsiders:
        return f"`{att.file}` is signed by {key_names(ctx, outsiders)}, not in role `{role.name}`"
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
