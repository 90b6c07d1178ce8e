"""Where bytes came from: derives from, produced by, declared sources, tracked, unchanged."""

from __future__ import annotations

from policy_engine.compiler import ir
from policy_engine.evaluate.context import FROM_LOCK, EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates.registry import evaluates, screens
from policy_engine.evaluate.selectors import describe, select
from policy_engine.graph.model import DigestClaim, Evidence

_LOCKED = ("dvc.lock", ".dvc")
_COMPARABLE = ("sha256", "md5")


def _lineage_failure(ctx: EvalContext, path: str, wanted: str, has_sources: bool) -> Verdict:
    """Why ``path`` does not descend from ``wanted``: broken edges, no producer, or no chain."""
    breaks = ctx.lineage.upstream_breaks(path)
    if not has_sources:
        reason = f"no {wanted} exist in the graph"
    elif breaks:
        reason = f"its lineage back to {wanted} is broken: " + "; ".join(b.reason for b in breaks)
    elif not ctx.lineage.producers(path):
        reason = f"no step produces it, so it cannot derive from {wanted}"
    else:
        reason = f"no chain of steps leads from {wanted} to it"
    evidence = tuple(e for b in breaks for e in b.evidence) or tuple(
        Evidence("upstream artifact", a) for a in ctx.lineage.first_upstream_artifacts(path)
    )
    return Verdict(False, reason, Kind.MISSING_LINEAGE, evidence)


def _node_ids(selector: ir.Selector, ctx: EvalContext) -> frozenset[str]:
    """The graph nodes of a selection of artifacts or steps (computed once per selection)."""
    ids = ctx.selected_nodes.get(selector)
    if ids is None:
        graph = ctx.graph
        as_id = graph.artifact_id if selector.subject == "artifacts" else graph.step_id
        ids = ctx.selected_nodes[selector] = frozenset(map(as_id, select(selector, ctx)))
    return ids


@evaluates(ir.DerivesFrom)
def derives_from(pred: ir.DerivesFrom, subject: Subject, ctx: EvalContext) -> Verdict:
    """An unbroken chain of recorded steps leads from a selected artifact to this one."""
    wanted = describe(pred.sources)
    if subject.name in derives_from_screen(pred, subject.kind, [subject.name], ctx):
        return Verdict(True, f"derives from {wanted}", Kind.MISSING_LINEAGE)
    return _lineage_failure(ctx, subject.name, wanted, bool(select(pred.sources, ctx)))


@screens(ir.DerivesFrom)
def derives_from_screen(
    pred: ir.DerivesFrom, kind: str, subjects: list[str], ctx: EvalContext
) -> frozenset[str]:
    """Exactly the artifacts for which ``derives from`` holds: those reached."""
    return ctx.lineage.reached(_node_ids(pred.sources, ctx))


@evaluates(ir.ReachesSource)
def reaches_source(pred: ir.ReachesSource, subject: Subject, ctx: EvalContext) -> Verdict:
    """The artifact is, or derives over valid edges from, data a `.dvc` file declares."""
    declared = ctx.lineage.declared_sources
    ids = frozenset(ctx.graph.artifact_id(p) for p in declared)
    if subject.name in declared or subject.name in ctx.lineage.reached(ids):
        return Verdict(True, "reaches a declared source", Kind.MISSING_LINEAGE)
    return _lineage_failure(ctx, subject.name, "declared sources (`.dvc` files)", bool(declared))


@screens(ir.ReachesSource)
def reaches_source_screen(
    pred: ir.ReachesSource, kind: str, subjects: list[str], ctx: EvalContext
) -> frozenset[str]:
    """Exactly the artifacts that reach a declared source: the sources and those reached."""
    declared = ctx.lineage.declared_sources
    return declared | ctx.lineage.reached(frozenset(map(ctx.graph.artifact_id, declared)))


@evaluates(ir.ProducedBy)
def produced_by(pred: ir.ProducedBy, subject: Subject, ctx: EvalContext) -> Verdict:
    producers = ctx.lineage.producers(subject.name)
    wanted = set(select(pred.steps, ctx))
    shown = ", ".join(f"`{p}`" for p in producers) or "no step"
    evidence = tuple(Evidence("produced by", p) for p in producers)
    if wanted & set(producers):
        return Verdict(True, f"produced by {shown}", Kind.MISSING_LINEAGE, evidence)
    return Verdict(
        False,
        f"produced by {shown}, not by {describe(pred.steps)}",
        Kind.MISSING_LINEAGE,
        evidence,
    )


@evaluates(ir.NoLineageThrough)
def no_lineage_through(pred: ir.NoLineageThrough, subject: Subject, ctx: EvalContext) -> Verdict:
    """No recorded flow of bytes, broken or not, leads from the selection to the artifact."""
    selected = select(pred.through, ctx)
    wanted = describe(pred.through)
    if subject.name not in ctx.lineage.reached(_node_ids(pred.through, ctx), valid_only=False):
        return Verdict(True, f"has no lineage through {wanted}", Kind.MISSING_LINEAGE)
    upstream = set(ctx.lineage.upstream_artifacts(subject.name))
    hits = sorted(upstream & set(selected)) if pred.through.subject == "artifacts" else []
    evidence = tuple(Evidence("upstream", h) for h in hits[:10])
    return Verdict(False, f"its lineage passes through {wanted}", Kind.MISSING_LINEAGE, evidence)


@evaluates(ir.HasLineageThrough)
def has_lineage_through(pred: ir.HasLineageThrough, subject: Subject, ctx: EvalContext) -> Verdict:
    """An unbroken chain of recorded steps leads from the selection to the artifact."""
    wanted = describe(pred.through)
    if subject.name in has_lineage_through_screen(pred, subject.kind, [subject.name], ctx):
        return Verdict(True, f"its lineage passes through {wanted}", Kind.MISSING_LINEAGE)
    return _lineage_failure(ctx, subject.name, wanted, bool(select(pred.through, ctx)))


@screens(ir.HasLineageThrough)
def has_lineage_through_screen(
    pred: ir.HasLineageThrough, kind: str, subjects: list[str], ctx: EvalContext
) -> frozenset[str]:
    """Exactly the artifacts for which ``has lineage through`` holds: those reached."""
    return ctx.lineage.reached(_node_ids(pred.through, ctx))


@evaluates(ir.Tracked)
def tracked(pred: ir.Tracked, subject: Subject, ctx: EvalContext) -> Verdict:
    """DVC records the artifact's digest (in `dvc.lock` or a `.dvc` file)."""
    claims = [c for c in ctx.graph.claims(subject.name) if c.source.file.endswith(_LOCKED)]
    if claims:
        evidence = tuple(Evidence(c.algorithm, c.value, str(c.source)) for c in claims[:4])
        return Verdict(True, "its digest is recorded by DVC", Kind.MISSING_LINEAGE, evidence)
    return Verdict(False, "no `dvc.lock` or `.dvc` file records its digest", Kind.MISSING_LINEAGE)


@evaluates(ir.MatchesWorkspace)
def matches_workspace(pred: ir.MatchesWorkspace, subject: Subject, ctx: EvalContext) -> Verdict:
    """Every recorded sha256/md5 of the artifact equals its current bytes (workspace or DVC
    cache); for a DVC output not materialised, equals the digest DVC records."""
    current = ctx.graph.workspace(subject.name)
    if current is None:
        locked = ctx.graph.locked(subject.name)
        if locked is None:
            return Verdict(False, "it is not in the workspace", Kind.INTEGRITY)
        return _matches_lock(subject.name, locked, ctx)
    claims = [
        c
        for c in ctx.graph.claims(subject.name)
        if c.algorithm in _COMPARABLE and not c.value.endswith(".dir")
    ]
    wrong = [c for c in claims if current.digest(c.algorithm) != c.value]
    evidence = tuple(Evidence(c.algorithm, c.value, str(c.source)) for c in wrong)
    if wrong:
        where = ", ".join(sorted({c.source.file for c in wrong}))
        bytes_at = "the workspace" if current.location == "workspace" else "its DVC cache object"
        return Verdict(
            False,
            f"{bytes_at} differs from what {where} recorded",
            Kind.INTEGRITY,
            (Evidence(f"{current.location} sha256", current.sha256), *evidence),
        )
    return Verdict(True, f"matches all {len(claims)} recorded digest(s)", Kind.INTEGRITY)


def _matches_lock(path: str, locked: DigestClaim, ctx: EvalContext) -> Verdict:
    """Not materialised: every source that records a digest in DVC's algorithm agrees with
    DVC's; a source recording only other algorithms cannot be compared (undecided)."""
    claims = [c for c in ctx.graph.claims(path) if c.algorithm in (*_COMPARABLE, locked.algorithm)]
    same = [c for c in claims if c.algorithm == locked.algorithm]
    compared = {c.source for c in same}
    wrong = [c for c in same if c.value != locked.value]
    unknown = sorted({c.source.file for c in claims if c.source not in compared})
    lock = Evidence(f"{locked.source.file} {locked.algorithm}", locked.value, str(locked.source))
    evidence = (lock, *(Evidence(c.algorithm, c.value, str(c.source)) for c in wrong))
    if wrong:
        where = ", ".join(sorted({c.source.file for c in wrong}))
        message = f"what {where} recorded differs from what `{locked.source.file}` records"
        return Verdict(False, f"{message} ({FROM_LOCK})", Kind.INTEGRITY, evidence)
    if unknown:
        message = (
            f"its bytes are not materialised, and {', '.join(f'`{u}`' for u in unknown)} "
            f"record(s) no `{locked.algorithm}` to compare with `{locked.source.file}`, "
            "so it cannot be judged"
        )
        return Verdict(False, message, Kind.INTEGRITY, evidence, decided=False)
    message = f"all {len(same)} recorded digest(s) agree with `{locked.source.file}` ({FROM_LOCK})"
    return Verdict(True, message, Kind.INTEGRITY, (lock,))
