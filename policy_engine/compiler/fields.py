"""Field names of conditions checked against the predicate schemas (``schemas/predicates.py``).

A condition on a field that the schema of a known predicate type does not
have can never be satisfied by a statement written for that schema: a name
close to a schema field is an error (E118, a misspelling); any other name a
warning (W207), since predicates may carry extra fields.
"""

from __future__ import annotations

import difflib

from policy_engine.compiler.context import CompileContext
from policy_engine.compiler.walk import atoms, conditions
from policy_engine.diagnostics import Span
from policy_engine.language import ast
from policy_engine.schemas.types import SCHEMA_TYPES


def schema_fields(predicate_type: str) -> frozenset[str] | None:
    """The top-level field names (and aliases) of a known predicate type; None if unknown.

    The schemas (pydantic models) are imported only for a known type.
    """
    if predicate_type not in SCHEMA_TYPES:
        return None
    from policy_engine.schemas.predicates import SCHEMAS

    model = SCHEMAS[predicate_type]
    names = {name for name in model.model_fields}
    names |= {f.alias for f in model.model_fields.values() if f.alias}
    return frozenset(names)


def check_fields(ctx: CompileContext) -> None:
    """Every condition of ``is attested with "TYPE" where ...`` names a field TYPE has."""
    for _, rule in ctx.rules():
        for atom in atoms(rule.predicate):
            if isinstance(atom, ast.AttestedWith):
                _check_atom(ctx, atom)


def _check_atom(ctx: CompileContext, atom: ast.AttestedWith) -> None:
    known = schema_fields(atom.predicate_type.value)
    if known is None:
        return
    for condition in conditions(atom):
        name = condition.field.parts[0]
        if name not in known:
            _report(ctx, atom.predicate_type.value, name, known, condition.field.span)


def _report(
    ctx: CompileContext, predicate_type: str, name: str, known: frozenset[str], span: Span
) -> None:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    where = f"`{name}` is not a field of `{predicate_type}`"
    if close:
        ctx.error("E118", where, span, f"did you mean `{close[0]}`?")
    else:
        fields = ", ".join(f"`{n}`" for n in sorted(known))
        ctx.error("W207", where, span, f"a statement of this type has {fields}")
