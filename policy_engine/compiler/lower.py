"""The last pass: a checked AST becomes the IR the evaluator runs."""

from __future__ import annotations

from policy_engine.compiler import ir
from policy_engine.compiler.context import CompileContext, location
from policy_engine.compiler.passes import implied_stage
from policy_engine.language import ast


def lower(ctx: CompileContext) -> None:
    """Build ``ctx.result``; only called when no earlier pass reported an error."""
    roles = {name: _role(ctx, decl) for name, decl in ctx.roles.items()}
    first_policy = ctx.policies[0] if ctx.policies else None
    ctx.result = ir.PolicySet(
        name=first_policy.name.value if first_policy else "policy",
        keys=dict(ctx.loaded_keys),
        roles=roles,
        stages={name: tuple(_step_set(s) for s in d.step_sets) for name, d in ctx.stages.items()},
        attestation_paths=tuple(ctx.root / a.path.value for a in ctx.attestations),
        controls=tuple(_control(c, roles) for c in ctx.controls.values()),
        location=_policy_location(ctx, first_policy),
    )


def _policy_location(ctx: CompileContext, decl: ast.PolicyDecl | None) -> ir.Location:
    if decl is not None:
        return location(decl.span)
    file = ctx.modules[0].file if ctx.modules else "<policy>"
    return ir.Location(file, 1, 1)


def _role(ctx: CompileContext, decl: ast.RoleDecl) -> ir.Role:
    members = tuple(dict.fromkeys(m.value for m in decl.members))
    keyids = frozenset(ctx.loaded_keys[m].keyid for m in members)
    return ir.Role(decl.name.value, members, keyids)


def _step_set(node: ast.StepSet) -> ir.StepSet:
    if isinstance(node, ast.StepsNamed):
        return ir.StepsNamed(tuple(g.value for g in node.globs))
    return ir.StepsWhere(tuple(n.value for n in node.field), node.value.value)


def _control(decl: ast.ControlDecl, roles: dict[str, ir.Role]) -> ir.Control:
    stage = decl.stage[0].value if decl.stage else implied_stage(decl)
    assert stage is not None  # checked by the `controls` pass
    return ir.Control(
        id=decl.id.value,
        title=decl.title.value,
        severity=decl.severity[0].value,
        stage=stage,
        description=decl.description[0].value if decl.description else "",
        rules=tuple(_rule(r, roles) for r in decl.rules),
        location=location(decl.span),
    )


def _rule(rule: ast.Rule, roles: dict[str, ir.Role]) -> ir.Rule:
    return ir.Rule(
        rule.quantifier,
        _selector(rule.selector),
        _predicate(rule.predicate, roles),
        location(rule.span),
    )


def _selector(node: ast.Selector) -> ir.Selector:
    if isinstance(node, ast.ArtifactsMatching):
        return ir.ArtifactsMatching(tuple(g.value for g in node.globs))
    if isinstance(node, ast.StepsIn):
        return ir.StepsIn(node.stage.value)
    return ir.StepsMatching(tuple(g.value for g in node.globs))


def _predicate(node: ast.Predicate, roles: dict[str, ir.Role]) -> ir.Predicate:
    if isinstance(node, ast.SignedBy):
        return ir.SignedBy(roles[node.role.value], node.threshold or 1)
    if isinstance(node, ast.PerformedBy):
        return ir.PerformedBy(roles[node.role.value])
    if isinstance(node, ast.DerivesFrom):
        sources = _selector(node.sources)
        assert isinstance(sources, ir.ArtifactsMatching)  # checked by the `rules` pass
        return ir.DerivesFrom(sources)
    if isinstance(node, ast.Not):
        return ir.Not(_predicate(node.item, roles))
    items = tuple(_predicate(i, roles) for i in node.items)
    return ir.AllOf(items) if isinstance(node, ast.AllOf) else ir.AnyOf(items)
