"""Selections: the subjects a rule is about (artifact paths, step names, attestation ids).

A selection starts from every subject of its kind and keeps those that pass
every filter. ``FILTERS`` maps each filter type to a function
``(filter, subject, ctx) -> bool``. Steps start from the pipeline's steps (DVC
stages, steps of trusted layouts); with ``from provenance``, from the steps
that attestations record instead (``Step.recorded``, e.g. SLSA provenance).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate import conditions
from policy_engine.evaluate.context import EvalContext, step_field

LINK_TYPE = "https://in-toto.io/attestation/link/v0.3"


def predicate_type(att: Any) -> str:
    """A statement's predicate type; links count as the in-toto link predicate."""
    return att.predicate_type or (LINK_TYPE if att.kind == "link" else "")


def _stage_steps(ctx: EvalContext, stage: str) -> frozenset[str]:
    return ctx.stage_step_names.get(stage, frozenset())


def _matching(f: ir.Matching, subject: str, ctx: EvalContext) -> bool:
    return globs.matcher(f.globs)(subject) is not None


def _of_kind(f: ir.OfKind, path: str, ctx: EvalContext) -> bool:
    return ctx.artifact_kind(path) == f.kind


def _produced_in(f: ir.ProducedIn | ir.InStage, path: str, ctx: EvalContext) -> bool:
    return bool(set(ctx.lineage.producers(path)) & _stage_steps(ctx, f.stage))


def _produced_matching(f: ir.ProducedMatching, path: str, ctx: EvalContext) -> bool:
    return any(globs.matches_any(f.globs, p) for p in ctx.lineage.producers(path))


def _step_in(f: ir.InStage, step: str, ctx: EvalContext) -> bool:
    return step in _stage_steps(ctx, f.stage)


def _where(f: ir.WhereField, step: str, ctx: EvalContext) -> bool:
    return conditions.compare(step_field(ctx.steps[step], f.field), f.op, f.value)


def _from_provenance(f: ir.FromProvenance, step: str, ctx: EvalContext) -> bool:
    return True  # the universe of the selection is the recorded steps already


def _of_type(f: ir.OfType, att_id: str, ctx: EvalContext) -> bool:
    return globs.matches_any(f.types, predicate_type(ctx.attestations[att_id]))


def _from_role(f: ir.FromRole, att_id: str, ctx: EvalContext) -> bool:
    return bool(ctx.attestations[att_id].signers & f.role.keyids)


def _about(f: ir.About, att_id: str, ctx: EvalContext) -> bool:
    att = ctx.attestations[att_id]
    paths = [*att.subjects, *att.products]
    return any(globs.matches_any(f.globs, p) for p in paths)


def _registered_as(f: ir.RegisteredAs, subject: str, ctx: EvalContext) -> bool:
    return globs.matches_any(f.globs, ctx.model_versions[subject].name)


def _with_alias(f: ir.WithAlias, subject: str, ctx: EvalContext) -> bool:
    return any(globs.matches_any(f.aliases, a) for a in ctx.model_versions[subject].aliases)


def _run_named(f: ir.Matching, subject: str, ctx: EvalContext) -> bool:
    return globs.matches_any(f.globs, ctx.runs[subject].name)


def _of_experiment(f: ir.OfExperiment, subject: str, ctx: EvalContext) -> bool:
    return globs.matches_any(f.globs, ctx.runs[subject].experiment)


Check = Callable[[Any, str, EvalContext], bool]
FILTERS: dict[str, dict[type, Check]] = {
    "artifacts": {
        ir.Matching: _matching,
        ir.OfKind: _of_kind,
        ir.InStage: _produced_in,
        ir.ProducedIn: _produced_in,
        ir.ProducedMatching: _produced_matching,
    },
    "steps": {
        ir.Matching: _matching,
        ir.InStage: _step_in,
        ir.WhereField: _where,
        ir.FromProvenance: _from_provenance,
    },
    "attestations": {ir.OfType: _of_type, ir.FromRole: _from_role, ir.About: _about},
    "models": {ir.RegisteredAs: _registered_as, ir.WithAlias: _with_alias},
    "runs": {ir.Matching: _run_named, ir.OfExperiment: _of_experiment},
}


_NAMED = ("artifacts", "steps")  # kinds whose ``matching`` filter is _matching, on the subject


def universe(selector: ir.Selector, ctx: EvalContext) -> list[str]:
    """Every subject of the selection's kind (steps: pipeline or recorded ones)."""
    if selector.subject == "artifacts":
        return ctx.artifact_paths
    if selector.subject == "steps":
        recorded = any(isinstance(f, ir.FromProvenance) for f in selector.filters)
        return sorted(name for name, step in ctx.steps.items() if step.recorded is recorded)
    if selector.subject == "models":
        return list(ctx.model_versions)
    if selector.subject == "runs":
        return list(ctx.runs)
    return list(ctx.attestations)


def select(selector: ir.Selector, ctx: EvalContext) -> list[str]:
    """Subjects in a stable order; each selection is computed once per evaluation."""
    if selector not in ctx.selections:
        subjects = list(universe(selector, ctx))
        for f in selector.filters:  # one filter at a time over the subjects still selected
            if type(f) is ir.Matching and selector.subject in _NAMED:
                subjects = list(filter(globs.matcher(f.globs), subjects))  # as _matching, in C
                continue
            check = FILTERS[selector.subject][type(f)]
            subjects = [s for s in subjects if check(f, s, ctx)]
        ctx.selections[selector] = subjects
    return ctx.selections[selector]


@lru_cache(maxsize=1024)
def describe(selector: ir.Selector) -> str:
    """The selection in words, e.g. ``artifacts matching `models/*` of kind model`` (cached:
    a predicate describes its selection once per subject)."""
    return " ".join([selector.subject, *(_describe_filter(f) for f in selector.filters)])


def _quoted(items: tuple[str, ...]) -> str:
    return ", ".join(f"`{i}`" for i in items)


def _describe_filter(f: ir.Filter) -> str:
    match f:
        case ir.Matching(patterns) | ir.About(patterns):
            word = "about" if isinstance(f, ir.About) else "matching"
            return f"{word} {_quoted(patterns)}"
        case ir.OfKind(kind):
            return f"of kind {kind}"
        case ir.InStage(stage):
            return f"in stage `{stage}`"
        case ir.ProducedIn(stage):
            return f"produced by steps in stage `{stage}`"
        case ir.ProducedMatching(patterns):
            return f"produced by steps matching {_quoted(patterns)}"
        case ir.WhereField(field, op, value):
            return f"where {'.'.join(field)} {op} {value!r}"
        case ir.OfType(types):
            return f"of type {_quoted(types)}"
        case ir.FromRole(role):
            return f"from role `{role.name}`"
        case ir.FromProvenance():
            return "from provenance"
        case ir.RegisteredAs(names):
            return f"registered as {_quoted(names)}"
        case ir.WithAlias(aliases):
            return f"with alias {_quoted(aliases)}"
        case ir.OfExperiment(names):
            return f"of experiment {_quoted(names)}"
    raise AssertionError(f)
