"""Walking the AST of rules: the leaves of predicates, nested selections, roles, values."""

from __future__ import annotations

from collections.abc import Iterator

from policy_engine.language import ast


def atoms(predicate: ast.Predicate) -> Iterator[ast.Atom]:
    """The leaves of a predicate (everything but and / or / not)."""
    if isinstance(predicate, (ast.AllOf, ast.AnyOf)):
        for item in predicate.items:
            yield from atoms(item)
    elif isinstance(predicate, ast.Not):
        yield from atoms(predicate.item)
    else:
        yield predicate


def nested_selectors(atom: ast.Atom) -> Iterator[ast.Selector]:
    """The selections a predicate takes, e.g. the sources of ``derives from``."""
    for value in ast.atom_fields(atom).values():
        if isinstance(value, ast.Selector):
            yield value


def selectors(rule: ast.Rule) -> Iterator[ast.Selector]:
    """The rule's selection and every selection nested in its predicate."""
    yield rule.selector
    for atom in atoms(rule.predicate):
        yield from nested_selectors(atom)


def signers_of(atom: ast.Atom) -> ast.Signers | None:
    """The role (and threshold) a predicate names, if any."""
    found = getattr(atom, "signers", None)
    return found if isinstance(found, ast.Signers) else None


def role_refs(rule: ast.Rule) -> Iterator[ast.Name]:
    """Every role name a rule uses, as written."""
    for selector in selectors(rule):
        for f in selector.filters:
            if isinstance(f, ast.FromRole):
                yield f.role
    for atom in atoms(rule.predicate):
        named = signers_of(atom)
        if named is not None:
            yield named.role


def stage_refs(rule: ast.Rule) -> Iterator[ast.Name]:
    """Every lifecycle stage a rule's selections name."""
    for selector in selectors(rule):
        for f in selector.filters:
            if isinstance(f, (ast.InStage, ast.ProducedIn)):
                yield f.stage


def conditions(atom: ast.Atom) -> tuple[ast.Condition, ...]:
    """The conditions on documents a predicate takes."""
    found = getattr(atom, "conditions", ())
    return found if isinstance(found, tuple) else ()


def typed_values(rule: ast.Rule) -> Iterator[tuple[ast.Value, str | None, str | None]]:
    """Each value of a rule with its comparison operator and the type it must have."""
    for selector in selectors(rule):
        for f in selector.filters:
            if isinstance(f, ast.WhereField):
                yield f.value, f.op, None
    for atom in atoms(rule.predicate):
        for condition in conditions(atom):
            if isinstance(condition, ast.Compare):
                yield condition.value, condition.op, None
            elif isinstance(condition, ast.Member):
                yield condition.options, None, None
        fields = ast.atom_fields(atom)
        for name in atom.syntax.durations:
            if fields[name] is not None:
                yield fields[name], None, "duration"
        if "op" in fields:
            yield fields["value"], fields["op"], None
