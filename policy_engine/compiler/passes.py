"""The compiler passes, in order. Each reads the context and adds diagnostics or symbols.

Passes never stop at the first problem: each reports everything it finds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from policy_engine import globs
from policy_engine.compiler.context import CompileContext, suggest
from policy_engine.keys import KeyLoadError, load_public_key
from policy_engine.language import ast
from policy_engine.lifecycle import SEVERITIES, STAGES

Pass = Callable[[CompileContext], None]


def declare(ctx: CompileContext) -> None:
    """Collect every declaration into symbol tables; a name defined twice is E102."""
    tables: dict[type, dict[str, ast.Declaration]] = {
        ast.KeyDecl: ctx.keys,
        ast.RoleDecl: ctx.roles,  # type: ignore[dict-item]
        ast.StageDecl: ctx.stages,
        ast.ControlDecl: ctx.controls,  # type: ignore[dict-item]
    }
    for module in ctx.modules:
        for decl in module.declarations:
            if isinstance(decl, ast.PolicyDecl):
                ctx.policies.append(decl)
            elif isinstance(decl, ast.AttestationsDecl):
                ctx.attestations.append(decl)
            else:
                _declare_named(ctx, tables[type(decl)], decl)


def _declare_named(ctx: CompileContext, table: dict, decl: ast.Declaration) -> None:
    name: ast.Name = decl.id if isinstance(decl, ast.ControlDecl) else decl.name  # type: ignore[union-attr]
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


_KIND_NAMES = {
    ast.KeyDecl: "key",
    ast.RoleDecl: "role",
    ast.StageDecl: "stage",
    ast.ControlDecl: "control",
}


def resolve(ctx: CompileContext) -> None:
    """Every name used must be defined: keys in roles, roles and stages in controls."""
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
    for _, rule in ctx.rules():
        for name in _stage_refs(rule.selector):
            if name.value not in ctx.stages:
                ctx.error(
                    "E101",
                    f"no steps are declared for stage `{name.value}`",
                    name.span,
                    f'declare them: stage {name.value} = steps "NAME"',
                )
        for role in _role_refs(rule.predicate):
            if role.value not in ctx.roles:
                ctx.error(
                    "E101",
                    f"unknown role `{role.value}`",
                    role.span,
                    suggest(role.value, ctx.roles, "role"),
                )


def _check_lifecycle(ctx: CompileContext, name: ast.Name) -> None:
    if name.value not in STAGES:
        ctx.error(
            "E103",
            f"unknown lifecycle stage `{name.value}`",
            name.span,
            suggest(name.value, STAGES, "lifecycle stage"),
        )


def _stage_refs(selector: ast.Selector) -> Iterator[ast.Name]:
    if isinstance(selector, ast.StepsIn):
        yield selector.stage


def _role_refs(predicate: ast.Predicate) -> Iterator[ast.Name]:
    for atom in atoms(predicate):
        if isinstance(atom, (ast.SignedBy, ast.PerformedBy)):
            yield atom.role


def atoms(predicate: ast.Predicate) -> Iterator[ast.Predicate]:
    """The leaves of a predicate (signed by, derives from, performed by)."""
    if isinstance(predicate, (ast.AllOf, ast.AnyOf)):
        for item in predicate.items:
            yield from atoms(item)
    elif isinstance(predicate, ast.Not):
        yield from atoms(predicate.item)
    else:
        yield predicate


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
        if isinstance(rule.selector, ast.StepsIn):
            return rule.selector.stage.value
    return None


def check_rules(ctx: CompileContext) -> None:
    """Predicates must apply to what the rule selects; thresholds and globs must be valid."""
    for _, rule in ctx.rules():
        on_steps = not isinstance(rule.selector, ast.ArtifactsMatching)
        for atom in atoms(rule.predicate):
            _check_applies(ctx, atom, on_steps)
            if isinstance(atom, ast.SignedBy):
                _check_threshold(ctx, atom)
            if isinstance(atom, ast.DerivesFrom) and not isinstance(
                atom.sources, ast.ArtifactsMatching
            ):
                ctx.error(
                    "E106",
                    "`derives from` takes artifacts",
                    atom.sources.span,
                    'write `derives from artifacts matching "GLOB"`',
                )
        for text in _globs(rule):
            try:
                globs.compile_glob(text.value)
            except globs.GlobError as exc:
                ctx.error("E109", str(exc), text.span)


def _check_applies(ctx: CompileContext, atom: ast.Predicate, on_steps: bool) -> None:
    step_only = isinstance(atom, ast.PerformedBy)
    if step_only and not on_steps:
        ctx.error(
            "E106",
            "`performed by` applies to steps, not artifacts",
            atom.span,
            "select steps, e.g. `every step in model_training is performed by ROLE`",
        )
    elif not step_only and on_steps:
        word = "signed by" if isinstance(atom, ast.SignedBy) else "derives from"
        ctx.error(
            "E106",
            f"`{word}` applies to artifacts, not steps",
            atom.span,
            'select artifacts, e.g. `every artifact matching "models/*"`',
        )


def _check_threshold(ctx: CompileContext, atom: ast.SignedBy) -> None:
    if atom.threshold is None:
        return
    role = ctx.roles.get(atom.role.value)
    size = len({m.value for m in role.members}) if role else None
    if atom.threshold < 1 or (size is not None and atom.threshold > size):
        ctx.error(
            "E107",
            f"threshold {atom.threshold} cannot be met by role `{atom.role.value}`",
            atom.span,
            f"the role has {size} distinct key(s)" if size is not None else None,
        )


def _globs(rule: ast.Rule) -> Iterator[ast.Text]:
    selectors: list[ast.Selector] = [rule.selector]
    selectors += [a.sources for a in atoms(rule.predicate) if isinstance(a, ast.DerivesFrom)]
    for selector in selectors:
        if isinstance(selector, (ast.ArtifactsMatching, ast.StepsMatching)):
            yield from selector.globs


def load_keys(ctx: CompileContext) -> None:
    """Read every key file (relative to the repository root); a bad one is E105."""
    for name, decl in ctx.keys.items():
        try:
            ctx.loaded_keys[name] = load_public_key(ctx.root / decl.path.value)
        except KeyLoadError as exc:
            ctx.error(
                "E105",
                f"key `{name}`: {exc}",
                decl.path.span,
                f"looked for `{ctx.root / decl.path.value}`",
            )


def warn_unused(ctx: CompileContext) -> None:
    """Keys no role holds and roles no rule uses are warnings."""
    held = {m.value for role in ctx.roles.values() for m in role.members}
    used = {r.value for _, rule in ctx.rules() for r in _role_refs(rule.predicate)}
    for name, decl in ctx.keys.items():
        if name not in held:
            ctx.error("W201", f"key `{name}` is in no role", decl.name.span)
    for name, role_decl in ctx.roles.items():
        if name not in used:
            ctx.error("W202", f"role `{name}` is used by no rule", role_decl.name.span)
