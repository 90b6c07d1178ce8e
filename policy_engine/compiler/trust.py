"""Passes for what the policy trusts beyond single keys: key sets and layout owners."""

from __future__ import annotations

from policy_engine import globs
from policy_engine.compiler.context import CompileContext, suggest
from policy_engine.compiler.keysets import KeySetError, load_key_set
from policy_engine.compiler.walk import atoms, signers_of


def check_trust(ctx: CompileContext) -> None:
    """A key set is not also a role (E102); layout owners are roles (E101); globs valid (E109)."""
    for name, decl in ctx.key_sets.items():
        if name in ctx.roles:
            ctx.error(
                "E102",
                f"`{name}` is both a key set and a role",
                decl.name.span,
                f"the role is defined at {ctx.roles[name].span}",
            )
    for layout in ctx.layouts:
        owners = layout.owners.value
        if not ctx.is_role(owners):
            help = suggest(owners, [*ctx.roles, *ctx.key_sets], "role")
            ctx.error("E101", f"unknown role `{owners}`", layout.owners.span, help)
        for text in layout.globs:
            try:
                globs.compile_glob(text.value)
            except globs.GlobError as exc:
                ctx.error("E109", str(exc), text.span)


def load_key_sets(ctx: CompileContext) -> None:
    """Read every key file of each key set, confined to the repository; a problem is E105."""
    for name, decl in ctx.key_sets.items():
        try:
            members = load_key_set(ctx.root, decl.path.value)
        except KeySetError as exc:
            ctx.error(
                "E105",
                f"key set `{name}`: {exc}",
                decl.path.span,
                "a key set is a glob of key files inside the repository, e.g. `keys/ml/*.pub`",
            )
            continue
        ctx.loaded_key_sets[name] = {f"{name}/{member}": key for member, key in members.items()}
        ctx.loaded_keys.update(ctx.loaded_key_sets[name])
    _check_key_set_thresholds(ctx)


def _check_key_set_thresholds(ctx: CompileContext) -> None:
    """`at least N of SET` needs N distinct keys in the set (E107), known once loaded."""
    for _, rule in ctx.rules():
        for atom in atoms(rule.predicate):
            signers = signers_of(atom)
            if signers is None or signers.threshold is None:
                continue
            members = ctx.loaded_key_sets.get(ctx.scope(signers.span).role_name(signers.role))
            wanted = signers.threshold.value
            if members is not None and isinstance(wanted, int) and wanted > len(members):
                ctx.error(
                    "E107",
                    f"threshold {wanted} cannot be met by key set `{signers.role.value}`",
                    signers.span,
                    f"the key set has {len(members)} distinct key(s)",
                )
