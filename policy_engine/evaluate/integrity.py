"""Built-in findings that need no rule: the graph contradicts itself or its inputs are unsafe.

They are reported under ``builtin/<code>`` controls at the policy's declaration; what the
supply chain checker found in trusted layouts (``graph.layout_problems``) under
``in-toto/<code>`` controls, as ``mlpolicy verify`` reports them.
"""

from __future__ import annotations

from collections.abc import Iterator

from policy_engine.evaluate.context import EvalContext
from policy_engine.evaluate.findings import Finding, Kind
from policy_engine.evaluate.intoto_findings import problem_findings
from policy_engine.graph.model import (
    DigestClaim,
    Evidence,
    Issue,
    SourceRef,
)

# issue code -> (title, severity, kind)
BUILTINS: dict[str, tuple[str, str, Kind]] = {
    "digest-mismatch": ("Sources agree on every artifact's bytes", "high", Kind.INTEGRITY),
    "bad-signature": ("Every signature verifies", "high", Kind.INTEGRITY),
    "path-escape": ("Paths stay inside the repository", "critical", Kind.INTEGRITY),
    "duplicate-step": ("Step names are unique", "medium", Kind.INTEGRITY),
    "unknown-step": ("Links record steps of the pipeline", "high", Kind.UNAUTHORIZED_STEP),
    "invalid-predicate": ("Evidence matches the schema of its type", "high", Kind.MISSING_EVIDENCE),
    "stale-lock": ("The lock has no entries for stages no longer defined", "info", Kind.INTEGRITY),
    "not-in-lock": ("Every stage ran as defined", "medium", Kind.MISSING_LINEAGE),
    "lock-mismatch": ("The lock records the stages as defined", "high", Kind.INTEGRITY),
    "params-changed": ("Stages ran with the params the repository has", "high", Kind.INTEGRITY),
    "duplicate-output": ("Each output has one producer", "high", Kind.INTEGRITY),
    "dir-manifest": ("Directory manifests match their digests", "high", Kind.INTEGRITY),
    "cache-object": ("DVC cache objects match their digests", "high", Kind.INTEGRITY),
    "dvc-file-edited": ("DVC files match their own checksums", "medium", Kind.INTEGRITY),
    "orphan-pipeline": ("Every pipeline file is in a DVC project", "medium", Kind.INTEGRITY),
    "search-bounded": ("The whole repository was searched", "high", Kind.INTEGRITY),
    "conflicting-digest": ("Attestations name each artifact once", "high", Kind.INTEGRITY),
    "unreadable-file": ("Every artifact in the workspace can be read", "high", Kind.INTEGRITY),
    "layout-expired": ("In-toto layouts are within their expiry", "high", Kind.INTEGRITY),
    "layout-threshold": (
        "Layout steps are signed by enough distinct functionaries",
        "high",
        Kind.UNAUTHORIZED_STEP,
    ),
    "key-id-mismatch": ("Layout key ids are computed from their keys", "high", Kind.INTEGRITY),
    "future-timestamp": ("Evidence is not dated in the future", "medium", Kind.INTEGRITY),
    "model-unsigned-file": (
        "Every file of a signed model is signed",
        "high",
        Kind.UNSIGNED_ARTIFACT,
    ),
    "model-missing-file": ("Every signed file of a model is present", "high", Kind.INTEGRITY),
    "model-file-changed": ("A signed model's files are the signed bytes", "high", Kind.INTEGRITY),
}
_DEFAULT = ("The provenance inputs are consistent", "high", Kind.INTEGRITY)


def _finding(ctx: EvalContext, issue: Issue) -> Finding:
    title, severity, kind = BUILTINS.get(issue.code, _DEFAULT)
    return Finding(
        control=f"builtin/{issue.code}",
        title=title,
        severity=severity,
        stage="secure_pipelines",
        kind=kind,
        subject=issue.subject,
        message=issue.message,
        evidence=issue.evidence,
        location=ctx.policy.location,
    )


def builtin_findings(ctx: EvalContext) -> Iterator[Finding]:
    issues = [
        *ctx.graph.issues,
        *digest_mismatches(ctx),
        *unknown_steps(ctx),
        *invalid_predicates(ctx),
        *future_statements(ctx),
    ]
    for issue in issues:
        yield _finding(ctx, issue)
    yield from problem_findings(ctx.graph.layout_problems, ctx.policy.location)


_DVC_FILES = ("dvc.lock", ".dvc")


def digest_mismatches(ctx: EvalContext) -> Iterator[Issue]:
    """Artifacts whose current claims name different bytes: one issue each.

    Current claims are the bytes at hand (the workspace's or the DVC cache's; an
    artifact not materialised adds none), what DVC's files record, and the
    products of verified links. Statements and the materials of links that
    consumed the artifact are history (lineage judges those); an attestation
    whose signature does not verify with a trusted key claims nothing.
    """
    for path in _suspects(ctx):
        claims = _current_claims(ctx, path)
        algorithms = sorted({c.algorithm for c in claims})
        split = [a for a in algorithms if len({c.value for c in claims if c.algorithm == a}) > 1]
        if split:
            yield Issue(
                "digest-mismatch",
                path,
                f"sources disagree about the bytes of `{path}` ({', '.join(split)})",
                tuple(
                    Evidence(c.algorithm, c.value, str(c.source))
                    for c in sorted(claims, key=lambda c: (c.algorithm, c.value, str(c.source)))
                    if c.algorithm in split
                ),
            )


def _suspects(ctx: EvalContext) -> list[str]:
    """The artifacts, sorted, whose known digests may disagree (found as the nodes are read:
    :func:`~policy_engine.evaluate.nodes.may_disagree`)."""
    return sorted(ctx.lineage.index.suspects)


def _current_claims(ctx: EvalContext, path: str) -> list[DigestClaim]:
    claims = [c for c in ctx.graph.claims(path) if c.source.file.endswith(_DVC_FILES)]
    for att, digest in ctx.products.get(path, []):
        if att.signers:
            source = SourceRef(att.file, None, f"link `{att.step_name}` product")
            claims += [DigestClaim(a, v, source) for a, v in sorted(digest.items())]
    return claims + _workspace_claims(ctx, path, claims)


def _workspace_claims(ctx: EvalContext, path: str, claims: list[DigestClaim]) -> list[DigestClaim]:
    current = ctx.graph.workspace(path)
    if current is None or any(c.value.endswith(".dir") for c in claims):
        return []  # absent, or a DVC directory whose digest scheme is not a file's
    source = SourceRef(path, None, current.location)
    digests = [("sha256", current.sha256)]
    if any(c.algorithm == "md5" for c in claims):  # alone, the md5 could disagree with nothing
        digests.append(("md5", current.md5))
    return [DigestClaim(algorithm, value, source) for algorithm, value in digests if value]


def unknown_steps(ctx: EvalContext) -> Iterator[Issue]:
    """Links that record a step the pipeline does not have."""
    names = ctx.steps
    for att in ctx.attestations.values():
        if att.kind == "link" and att.step_name not in names:
            yield Issue(
                "unknown-step",
                att.step_name,
                f"link `{att.file}` records step `{att.step_name}`, which is not in the pipeline",
                (Evidence("link", att.step_name, att.file),),
            )


def future_statements(ctx: EvalContext) -> Iterator[Issue]:
    """Verified statements dated after the evaluation time: never fresh, and suspicious."""
    for att in ctx.attestations.values():
        if att.signers and att.issued_at is not None and att.issued_at > ctx.now:
            yield Issue(
                "future-timestamp",
                att.file,
                f"`{att.file}` is dated {att.issued_at.isoformat()}, after the evaluation "
                f"time {ctx.now.isoformat()}",
                (Evidence("issued at", att.issued_at.isoformat(), att.file),),
            )


def invalid_predicates(ctx: EvalContext) -> Iterator[Issue]:
    """Statements signed by a trusted key whose predicate does not match its type's schema.

    A statement no trusted key verifies counts for nothing, its predicate included.
    """
    for att in ctx.attestations.values():
        problem = ctx.schema_problem(att) if att.kind == "statement" and att.signers else None
        if problem:
            yield Issue(
                "invalid-predicate",
                att.file,
                f"the `{att.predicate_type}` predicate of `{att.file}` does not match its "
                f"schema: {problem}",
                (Evidence("predicate type", att.predicate_type, att.file),),
            )
