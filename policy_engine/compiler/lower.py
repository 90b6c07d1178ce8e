"""The last pass: a checked AST becomes the IR the evaluator runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from policy_engine.compiler import ir, values
from policy_engine.compiler.context import CompileContext, Scope
from policy_engine.compiler.passes import implied_stage
from policy_engine.diagnostics import Span
from policy_engine.keys import PublicKey
from policy_engine.language import ast


def lower(ctx: CompileContext) -> None:
    """Build ``ctx.result``; only called when no earlier pass reported an error."""
    roles = {name: _role(ctx, decl) for name, decl in ctx.roles.items()}
    roles |= {name: _key_set(name, keys) for name, keys in ctx.loaded_key_sets.items()}
    first_policy = ctx.policies[0] if ctx.policies else None
    ctx.result = ir.PolicySet(
        name=first_policy.name.value if first_policy else "policy",
        keys=dict(ctx.loaded_keys),
        roles=roles,
        stages={name: tuple(_step_set(s) for s in d.step_sets) for name, d in ctx.stages.items()},
        attestation_paths=tuple(ctx.root / a.path.value for a in ctx.attestations),
        controls=tuple(_Lowerer(ctx, roles, c).control() for c in ctx.controls.values()),
        waivers=tuple(_waiver(w) for w in ctx.waivers),
        location=_policy_location(ctx, first_policy),
        unjudged_fail=bool(ctx.on_unjudged),
        signature_types=tuple(t.value for d in ctx.signatures for t in d.types),
        layouts=tuple(_layout_owners(d, roles) for d in ctx.layouts),
        tracking_stores=tuple(
            ir.TrackingStore(d.path.value, location(d.path.span)) for d in ctx.tracking_stores
        ),
    )


def location(span: Span) -> ir.Location:
    return ir.Location(span.file, span.line, span.column)


def _policy_location(ctx: CompileContext, decl: ast.PolicyDecl | None) -> ir.Location:
    if decl is not None:
        return location(decl.span)
    file = ctx.units[0].module.file if ctx.units else "<policy>"
    return ir.Location(file, 1, 1)


def _role(ctx: CompileContext, decl: ast.RoleDecl) -> ir.Role:
    members = tuple(dict.fromkeys(m.value for m in decl.members))
    keyids = frozenset(ctx.loaded_keys[m].keyid for m in members)
    return ir.Role(decl.name.value, members, keyids)


def _layout_owners(decl: ast.LayoutDecl, roles: dict[str, ir.Role]) -> ir.LayoutOwners:
    globs = tuple(g.value for g in decl.globs)
    return ir.LayoutOwners(globs, roles[decl.owners.value], location(decl.span))


def _key_set(name: str, keys: dict[str, PublicKey]) -> ir.Role:
    return ir.Role(name, tuple(keys), frozenset(k.keyid for k in keys.values()))


def _step_set(node: ast.StepSet) -> ir.StepSet:
    if isinstance(node, ast.StepsNamed):
        return ir.StepsNamed(tuple(g.value for g in node.globs))
    return ir.StepsWhere(node.field.parts, node.op, values.resolve(node.value, Scope()))


def _waiver(decl: ast.WaiverDecl) -> ir.Waiver:
    expires = values.resolve(decl.expires[0], Scope())
    assert isinstance(expires, date)
    return ir.Waiver(
        control=decl.control.value,
        subjects=tuple(s.value for s in decl.subjects),
        owner=decl.owner[0].value,
        reason=decl.reason[0].value,
        expires=expires,
        location=location(decl.span),
    )


class _Lowerer:
    """Lowers one control, resolving names and values in the scope of its file."""

    def __init__(self, ctx: CompileContext, roles: dict[str, ir.Role], decl: ast.ControlDecl):
        self.roles, self.decl = roles, decl
        self.scope = ctx.scope(decl.span)

    def control(self) -> ir.Control:
        decl = self.decl
        stage = decl.stage[0].value if decl.stage else implied_stage(decl)
        assert stage is not None  # checked by the `controls` pass
        return ir.Control(
            id=decl.id.value,
            title=decl.title.value,
            severity=decl.severity[0].value,
            stage=stage,
            description=decl.description[0].value if decl.description else "",
            risks=tuple(r.value for r in decl.mitigates),
            rules=tuple(self.rule(r) for r in decl.rules),
            location=location(decl.span),
        )

    def rule(self, rule: ast.Rule) -> ir.Rule:
        q = rule.quantifier
        count = int(q.count.value) if q.count is not None else 1
        return ir.Rule(
            q.kind,
            count,
            self.selector(rule.selector),
            self.predicate(rule.predicate),
            location(rule.span),
        )

    def value(self, node: ast.Value) -> ir.Value:
        return values.resolve(node, self.scope)

    def role(self, name: ast.Name) -> ir.Role:
        return self.roles[self.scope.role_name(name)]

    def selector(self, node: ast.Selector) -> ir.Selector:
        return ir.Selector(node.subject, tuple(self.filter(f) for f in node.filters))

    def filter(self, node: ast.Filter) -> ir.Filter:
        match node:
            case ast.Matching(globs):
                return ir.Matching(tuple(g.value for g in globs))
            case ast.OfKind(kind):
                return ir.OfKind(kind.value)
            case ast.InStage(stage):
                return ir.InStage(stage.value)
            case ast.ProducedIn(stage):
                return ir.ProducedIn(stage.value)
            case ast.ProducedMatching(globs):
                return ir.ProducedMatching(tuple(g.value for g in globs))
            case ast.WhereField(field, op, value):
                return ir.WhereField(field.parts, op, self.value(value))
            case ast.OfType(types):
                return ir.OfType(tuple(t.value for t in types))
            case ast.FromRole(role):
                return ir.FromRole(self.role(role))
            case ast.About(globs):
                return ir.About(tuple(g.value for g in globs))
            case ast.FromProvenance():
                return ir.FromProvenance()
            case ast.RegisteredAs(globs):
                return ir.RegisteredAs(tuple(g.value for g in globs))
            case ast.WithAlias(aliases):
                return ir.WithAlias(tuple(a.value for a in aliases))
            case ast.OfExperiment(globs):
                return ir.OfExperiment(tuple(g.value for g in globs))
        raise AssertionError(node)

    def condition(self, node: ast.Condition) -> ir.Condition:
        match node:
            case ast.Compare(field, op, value):
                return ir.Compare(field.parts, op, self.value(value))
            case ast.Member(field, options):
                resolved = self.value(options)
                assert isinstance(resolved, tuple)
                return ir.Member(field.parts, resolved)
            case ast.Exists(field, present):
                return ir.Exists(field.parts, present)
        raise AssertionError(node)

    def predicate(self, node: ast.Predicate) -> ir.Predicate:
        match node:
            case ast.Not(item):
                return ir.Not(self.predicate(item))
            case ast.AllOf(items):
                return ir.AllOf(tuple(self.predicate(i) for i in items))
            case ast.AnyOf(items):
                return ir.AnyOf(tuple(self.predicate(i) for i in items))
        lowered: dict[str, Any] = {}
        for name, value in ast.atom_fields(node).items():
            lowered.update(self.field(name, value))
        return ir.ATOMS[type(node).__name__](**lowered)

    def field(self, name: str, value: Any) -> dict[str, Any]:
        """One field of a predicate, lowered; ``signers`` becomes ``role`` and ``threshold``."""
        if name == "signers":
            role = self.role(value.role) if value is not None else None
            return {"role": role, "threshold": self.threshold(value)}
        if name == "threshold":
            return {"threshold": 1 if value is None else int(value.value)}
        return {name: self.leaf(value)}

    def leaf(self, value: Any) -> Any:
        match value:
            case None | str():
                return value
            case ast.Name():
                return self.role(value)
            case ast.Text():
                return value.value
            case ast.Selector():
                return self.selector(value)
            case ast.Compare() | ast.Member() | ast.Exists():
                return self.condition(value)
            case tuple():
                return tuple(self.leaf(v) for v in value)
        return self.value(value)

    def threshold(self, signers: ast.Signers | None) -> int:
        if signers is None or signers.threshold is None:
            return 1
        return int(signers.threshold.value)
