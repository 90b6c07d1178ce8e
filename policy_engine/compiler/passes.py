"""The compiler passes, in order. Each reads the context and adds diagnostics or symbols.

Passes never stop at the first problem: each reports everything it finds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from policy_engine import globs, gpgkeys
from policy_engine.compiler import values
from policy_engine.compiler.context import CompileContext, Scope, Unit, suggest
from policy_engine.compiler.keysets import KeySetError, confined_file, confined_path
from policy_engine.compiler.walk import (
    atoms,
    nested_selectors,
    role_refs,
    selectors,
    signers_of,
    stage_refs,
    typed_values,
)
from policy_engine.files import unusable_path
from policy_engine.keys import (
    KeyLoadError,
    Trusted,
    load_authority,
    load_identity,
)
from policy_engine.language import ast
from policy_engine.lifecycle import ALL_RISKS, ARTIFACT_KINDS, SEVERITIES, STAGES

Pass = Callable[[CompileContext], None]

_KIND_NAMES = {
    ast.KeyDecl: "key",
    ast.KeySetDecl: "key set",
    ast.CaDecl: "ca",
    ast.IdentityDecl: "identity",
    ast.RoleDecl: "role",
    ast.StageDecl: "stage",
    ast.ControlDecl: "control",
}
_NAMED = (
    ast.KeyDecl,
    ast.KeySetDecl,
    ast.CaDecl,
    ast.IdentityDecl,
    ast.RoleDecl,
    ast.StageDecl,
    ast.ControlDecl,
)
_PACK_ALLOWED = (ast.PackDecl, ast.ParameterDecl, ast.ImportDecl, ast.ControlDecl)


def declare(ctx: CompileContext) -> None:
    """Collect declarations into symbol tables and pack scopes; a name defined twice is E102."""
    for unit in ctx.units:
        ctx.scopes[unit.module.file] = _scope(ctx, unit)
    tables: dict[type, dict[str, Any]] = {
        ast.KeyDecl: ctx.keys,
        ast.KeySetDecl: ctx.key_sets,
        ast.CaDecl: ctx.keys,
        ast.IdentityDecl: ctx.keys,
        ast.RoleDecl: ctx.roles,
        ast.StageDecl: ctx.stages,
        ast.ControlDecl: ctx.controls,
    }
    for unit in ctx.units:
        in_pack = ctx.scopes[unit.module.file].pack is not None
        for decl in unit.module.declarations:
            if in_pack and not isinstance(decl, _PACK_ALLOWED):
                ctx.error(
                    "E113",
                    "a pack declares only parameters and controls",
                    decl.span,
                    "keys, roles and stages belong to the policy that imports the pack",
                )
            elif isinstance(decl, ast.PolicyDecl):
                _one_policy_name(ctx, decl)
                ctx.policies.append(decl)
            elif isinstance(decl, ast.AttestationsDecl):
                _confined_folder(ctx, decl.path)
                ctx.attestations.append(decl)
            elif isinstance(decl, ast.OnUnjudgedDecl):
                ctx.on_unjudged.append(decl)
            elif isinstance(decl, ast.SignaturesDecl):
                ctx.signatures.append(decl)
                _check_globs(ctx, decl.types)
            elif isinstance(decl, ast.MlflowDecl):
                ctx.tracking_stores.append(decl)
            elif isinstance(decl, ast.WaiverDecl):
                ctx.waivers.append(decl)
            elif isinstance(decl, ast.LayoutDecl):
                ctx.layouts.append(decl)
            elif isinstance(decl, _NAMED):
                _declare_named(ctx, tables[type(decl)], decl)


def _confined_folder(ctx: CompileContext, written: ast.Text) -> None:
    """A folder or file the policy reads (``attestations in``) stays in the repository."""
    try:
        confined_path(ctx.root, written.value)
    except KeySetError as exc:
        ctx.error("E120", f"{exc}", written.span, "name a path inside the repository")


def _one_policy_name(ctx: CompileContext, decl: ast.PolicyDecl) -> None:
    """Every policy file of one evaluation names the same policy (or none)."""
    first = next((p for p in ctx.policies if p.name.value != decl.name.value), None)
    if first is not None:
        ctx.error(
            "E119",
            f"policy `{decl.name.value}` is checked together with policy `{first.name.value}`",
            decl.name.span,
            f"one evaluation is one policy: `{first.name.value}` is declared at {first.span}",
        )


def _declare_named(
    ctx: CompileContext,
    table: dict[str, Any],
    decl: ast.SignerDecl | ast.KeySetDecl | ast.RoleDecl | ast.StageDecl | ast.ControlDecl,
) -> None:
    name = decl.id if isinstance(decl, ast.ControlDecl) else decl.name
    kind = _KIND_NAMES[type(decl)]
    if name.value in table:
        first = table[name.value]
        ctx.error(
            "E102",
            f"{kind} `{name.value}` is defined twice",
            name.span,
            f"first defined at {first.span}",
        )
        return
    table[name.value] = decl


def _scope(ctx: CompileContext, unit: Unit) -> Scope:
    """A pack's parameters, bound by its import (or to their defaults)."""
    decls = unit.module.declarations
    packs = [d for d in decls if isinstance(d, ast.PackDecl)]
    params = {d.name.value: d for d in decls if isinstance(d, ast.ParameterDecl)}
    if not packs:
        for param in params.values():
            ctx.error(
                "E113",
                "`parameter` is only allowed in a pack",
                param.span,
                "start the file with `pack NAME`",
            )
        if unit.bindings:
            ctx.error("E113", "only a pack takes parameters", unit.imported_at)
        return Scope()
    scope = Scope(packs[0].name.value, params)
    for param in params.values():
        _check_parameter_type(ctx, param)
        if param.default is not None:
            scope.bound[param.name.value] = param.default
    for binding in unit.bindings:
        _bind(ctx, scope, binding)
    for name, param in params.items():
        if name not in scope.bound:
            ctx.error(
                "E112",
                f"pack `{scope.pack}` needs a value for `{name}`",
                unit.imported_at or param.span,
                f"import it `with {name} = ...`",
            )
    return scope


def _check_parameter_type(ctx: CompileContext, param: ast.ParameterDecl) -> None:
    if param.type.value not in values.PARAMETER_TYPES:
        ctx.error(
            "E114",
            f"unknown parameter type `{param.type.value}`",
            param.type.span,
            "one of " + ", ".join(f"`{t}`" for t in values.PARAMETER_TYPES),
        )


def _bind(ctx: CompileContext, scope: Scope, binding: ast.Binding) -> None:
    name = binding.name.value
    param = scope.params.get(name)
    if param is None:
        ctx.error(
            "E101",
            f"pack `{scope.pack}` has no parameter `{name}`",
            binding.name.span,
            suggest(name, scope.params, "parameter"),
        )
        return
    given = values.type_of(binding.value)
    if given != param.type.value:
        ctx.error(
            "E114",
            f"parameter `{name}` takes a {param.type.value}, not a {given}",
            binding.value.span,
        )
        return
    scope.bound[name] = binding.value


def resolve(ctx: CompileContext) -> None:
    """Every name used must be defined: keys, roles, stages, risks, waived controls."""
    for role in ctx.roles.values():
        for member in role.members:
            if member.value not in ctx.keys:
                ctx.error(
                    "E101",
                    f"unknown key `{member.value}`",
                    member.span,
                    suggest(member.value, ctx.keys, "key"),
                )
    for stage in ctx.stages.values():
        _check_lifecycle(ctx, stage.name)
    for control in ctx.controls.values():
        for stage_name in control.stage:
            _check_lifecycle(ctx, stage_name)
        for risk in control.mitigates:
            if risk.value not in ALL_RISKS:
                ctx.error(
                    "E110",
                    f"unknown risk `{risk.value}`",
                    risk.span,
                    suggest(risk.value, ALL_RISKS, "risk"),
                )
    for _, rule in ctx.rules():
        _resolve_rule(ctx, rule)
    for waiver in ctx.waivers:
        if waiver.control.value not in ctx.controls:
            ctx.error(
                "E101",
                f"unknown control `{waiver.control.value}`",
                waiver.control.span,
                suggest(waiver.control.value, ctx.controls, "control"),
            )


def _resolve_rule(ctx: CompileContext, rule: ast.Rule) -> None:
    scope = ctx.scope(rule.span)
    for name in stage_refs(rule):
        if name.value not in ctx.stages:
            if name.value in STAGES:
                ctx.error(
                    "W206",
                    f"no steps are declared for stage `{name.value}`",
                    name.span,
                    f'rules selecting it find nothing; declare: stage {name.value} = steps "NAME"',
                )
            else:
                _check_lifecycle(ctx, name)
    for name in role_refs(rule):
        role = scope.role_name(name)
        if not ctx.is_role(role):
            roles = [*ctx.roles, *ctx.key_sets]
            ctx.error("E101", f"unknown role `{role}`", name.span, suggest(role, roles, "role"))


def _check_lifecycle(ctx: CompileContext, name: ast.Name) -> None:
    if name.value not in STAGES:
        ctx.error(
            "E103",
            f"unknown lifecycle stage `{name.value}`",
            name.span,
            suggest(name.value, STAGES, "lifecycle stage"),
        )


def check_controls(ctx: CompileContext) -> None:
    """Each control has one severity, one stage (or one implied), and at least one rule."""
    for control in ctx.controls.values():
        for field_name in ("severity", "stage", "description"):
            for extra in getattr(control, field_name)[1:]:
                ctx.error(
                    "E102",
                    f"`{field_name}` is given twice in control `{control.id.value}`",
                    extra.span,
                )
        for severity in control.severity:
            if severity.value not in SEVERITIES:
                ctx.error(
                    "E104",
                    f"unknown severity `{severity.value}`",
                    severity.span,
                    "one of " + ", ".join(f"`{s}`" for s in SEVERITIES),
                )
        _check_complete(ctx, control)


def _check_complete(ctx: CompileContext, control: ast.ControlDecl) -> None:
    ident = control.id.value
    if not control.severity:
        ctx.error(
            "E108",
            f"control `{ident}` has no severity",
            control.id.span,
            "add a line such as `severity high`",
        )
    if not control.rules:
        ctx.error(
            "E108",
            f"control `{ident}` has no rule",
            control.id.span,
            'add a line such as `require every artifact matching "models/*" ...`',
        )
    if not control.stage and implied_stage(control) is None:
        ctx.error(
            "E108",
            f"control `{ident}` has no lifecycle stage",
            control.id.span,
            "add a line such as `stage model_training`",
        )


def implied_stage(control: ast.ControlDecl) -> str | None:
    """The lifecycle stage a control's first `steps in STAGE` rule implies, if any."""
    for rule in control.rules:
        for f in rule.selector.filters:
            if rule.selector.subject == "steps" and isinstance(f, ast.InStage):
                return f.stage.value
    return None


_EXAMPLES = {
    "artifacts": '`every artifact matching "models/*"`',
    "steps": "`every step in model_training`",
    "attestations": '`every attestation of type "TYPE"`',
    "models": '`every model registered as "NAME" with alias "champion"`',
    "runs": '`every run of experiment "NAME"`',
}
_ORDERED = ("<", "<=", ">", ">=")


def check_rules(ctx: CompileContext) -> None:
    """Predicates apply to what is selected; thresholds, globs, kinds and values are valid."""
    for _, rule in ctx.rules():
        subject = rule.selector.subject
        if rule.quantifier.count is not None:
            _check_count(ctx, rule.quantifier.count, "at least")
        for atom in atoms(rule.predicate):
            _check_applies(ctx, atom, subject)
            for selector in nested_selectors(atom):
                _check_nested(ctx, atom, selector)
            _check_signers(ctx, atom)
        _check_selectors(ctx, rule)
        _check_values(ctx, rule)


def _check_applies(ctx: CompileContext, atom: ast.Atom, subject: str) -> None:
    allowed = atom.syntax.applies_to
    if subject not in allowed:
        ctx.error(
            "E106",
            f"`{atom.syntax.phrase}` applies to {' or '.join(allowed)}, not {subject}",
            atom.span,
            f"select {allowed[0]}, e.g. {_EXAMPLES[allowed[0]]}",
        )


def _check_nested(ctx: CompileContext, atom: ast.Atom, selector: ast.Selector) -> None:
    allowed = atom.syntax.nested
    if selector.subject not in allowed:
        ctx.error(
            "E106",
            f"`{atom.syntax.phrase}` takes {' or '.join(allowed)}, not {selector.subject}",
            selector.span,
        )


def _check_count(ctx: CompileContext, count: ast.Number, what: str) -> None:
    if not isinstance(count.value, int) or count.value < 1:
        ctx.error("E107", f"`{what}` needs a whole number of at least 1", count.span)


def _check_signers(ctx: CompileContext, atom: ast.Atom) -> None:
    signers = signers_of(atom)
    if signers is None or signers.threshold is None:
        return
    _check_count(ctx, signers.threshold, "at least")
    role = ctx.roles.get(ctx.scope(signers.span).role_name(signers.role))
    size = len({m.value for m in role.members}) if role else None
    if (
        role is not None
        and size is not None
        and isinstance(signers.threshold.value, int)
        and (signers.threshold.value > size)
    ):
        ctx.error(
            "E107",
            f"threshold {signers.threshold.value} cannot be met by role `{role.name.value}`",
            signers.span,
            f"the role has {size} distinct key(s)",
        )


def _check_selectors(ctx: CompileContext, rule: ast.Rule) -> None:
    for selector in selectors(rule):
        for f in selector.filters:
            if isinstance(f, ast.OfKind) and f.kind.value not in ARTIFACT_KINDS:
                ctx.error(
                    "E116",
                    f"unknown artifact kind `{f.kind.value}`",
                    f.kind.span,
                    suggest(f.kind.value, ARTIFACT_KINDS, "kind"),
                )
            _check_globs(ctx, getattr(f, "globs", ()))
    for atom in atoms(rule.predicate):
        _check_globs(ctx, getattr(atom, "patterns", ()))


def _check_globs(ctx: CompileContext, texts: tuple[ast.Text, ...]) -> None:
    for text in texts:
        try:
            globs.compile_glob(text.value)
        except globs.GlobError as exc:
            ctx.error("E109", str(exc), text.span)


def _check_values(ctx: CompileContext, rule: ast.Rule) -> None:
    """Every value resolves; ordered comparisons take numbers, windows take durations."""
    scope = ctx.scope(rule.span)
    for node, op, expected in typed_values(rule):
        try:
            value = values.resolve(node, scope)
        except values.ValueProblem as problem:
            ctx.error(problem.code, problem.message, problem.node.span, problem.help)
            continue
        if expected == "duration" and not isinstance(value, timedelta):
            ctx.error("E114", "a time window must be a duration such as `30d`", node.span)
        if op in _ORDERED and (isinstance(value, (bool, str, tuple))):
            ctx.error("E114", f"`{op}` compares numbers, durations or dates", node.span)


def check_waivers(ctx: CompileContext) -> None:
    """A waiver has exactly one owner, reason and expiry date, and names subjects."""
    for waiver in ctx.waivers:
        for field_name in ("owner", "reason", "expires"):
            given = getattr(waiver, field_name)
            if not given:
                ctx.error(
                    "E108",
                    f"waiver of `{waiver.control.value}` has no {field_name}",
                    waiver.control.span,
                    "a waiver needs an owner, a reason and an expiry",
                )
            for extra in given[1:]:
                ctx.error("E102", f"`{field_name}` is given twice in a waiver", extra.span)
        for expiry in waiver.expires[:1]:
            try:
                values.resolve(expiry, Scope())
            except values.ValueProblem as problem:
                ctx.error(problem.code, problem.message, expiry.span)
        _check_globs(ctx, waiver.subjects)


def load_keys(ctx: CompileContext) -> None:
    """Read every key, CA and trusted root file (relative to the repository root); E105."""
    for name, decl in ctx.keys.items():
        path = decl.root if isinstance(decl, ast.IdentityDecl) else decl.path
        try:
            ctx.loaded_keys[name] = _load_signer(ctx, decl)
        except KeyLoadError as exc:
            where = _looked_for(ctx, path.value) if path is not None else None
            span = path.span if path is not None else decl.span
            ctx.error("E105", f"{_KIND_NAMES[type(decl)]} `{name}`: {exc}", span, where)


def _looked_for(ctx: CompileContext, path: str) -> str | None:
    """Where a file was looked for; nothing for a path no file can have (NUL, too long)."""
    if unusable_path(path) is not None:
        return None
    return f"looked for `{ctx.root / path}`"


def _load_signer(ctx: CompileContext, decl: ast.SignerDecl) -> Trusted:
    if isinstance(decl, ast.KeyDecl):
        return gpgkeys.load_key(_confined(ctx, decl.path))
    if isinstance(decl, ast.CaDecl):
        return load_authority(_confined(ctx, decl.path))
    root = _confined(ctx, decl.root) if decl.root is not None else None
    return load_identity(decl.identity.value, decl.issuer.value, root)


def _confined(ctx: CompileContext, written: ast.Text) -> Path:
    """A file the policy names, inside the repository (else a ``KeyLoadError``)."""
    try:
        return confined_file(ctx.root, written.value)
    except KeySetError as exc:
        raise KeyLoadError(str(exc)) from None


def warn_unused(ctx: CompileContext) -> None:
    """Keys no role holds, roles no rule uses, and rules that can never fail are warnings."""
    held = {m.value for role in ctx.roles.values() for m in role.members}
    used = {ctx.scope(r.span).role_name(r) for _, rule in ctx.rules() for r in role_refs(rule)}
    used |= {layout.owners.value for layout in ctx.layouts}
    for name, decl in ctx.keys.items():
        if name not in held:
            kind = _KIND_NAMES[type(decl)]
            ctx.error("W201", f"{kind} `{name}` is in no role", decl.name.span)
    declared: dict[str, ast.Name] = {n: d.name for n, d in ctx.roles.items()}
    declared |= {n: d.name for n, d in ctx.key_sets.items()}
    for name, written in declared.items():
        if name not in used:
            ctx.error("W202", f"role `{name}` is used by no rule", written.span)
    for waiver in ctx.waivers:
        if any(s.value in ("*", "**") for s in waiver.subjects):
            ctx.error(
                "W203",
                f"control `{waiver.control.value}` is waived for every subject",
                waiver.span,
                "its rules can never fail; waive the subjects that need it",
            )
    for _, rule in ctx.rules():
        _warn_contradiction(ctx, rule.predicate)


def _warn_contradiction(ctx: CompileContext, predicate: ast.Predicate) -> None:
    """`P and not P` can never hold; `P or not P` can never fail."""
    if isinstance(predicate, (ast.AllOf, ast.AnyOf)):
        items = predicate.items
        negated = {i.item for i in items if isinstance(i, ast.Not)}
        if any(i in negated for i in items):
            never = "hold" if isinstance(predicate, ast.AllOf) else "fail"
            ctx.error(
                "W204",
                f"this predicate can never {never}",
                predicate.span,
                "it combines a predicate with its own negation",
            )
        for item in items:
            _warn_contradiction(ctx, item)
    elif isinstance(predicate, ast.Not):
        _warn_contradiction(ctx, predicate.item)
