"""Walking the AST of rules: the leaves of predicates, nested selections, roles, values."""

from __future__ import annotations

from collections.abc import Iterator

from policy_engine.language import ast


def atoms(predicate: ast.Predicate) -> Iterator[ast.Predicate]:
    """The leaves of a predicate (everything but and / or / not)."""
    if isinstance(predicate, (ast.AllOf, ast.AnyOf)):
        for item in predicate.items:
            yield from atoms(item)
    elif isinstance(predicate, ast.Not):
        yield from atoms(predicate.item)
    else:
        yield predicate


def nested_selectors(atom: ast.Predicate) -> Iterator[ast.Selector]:
    if isinstance(atom, ast.DerivesFrom):
        yield atom.sources
    elif isinstance(atom, ast.ProducedBy):
        yield atom.steps
    elif isinstance(atom, ast.NoLineageThrough):
        yield atom.through


def selectors(rule: ast.Rule) -> Iterator[ast.Selector]:
    """The rule's selection and every selection nested in its predicate."""
    yield rule.selector
    for atom in atoms(rule.predicate):
        yield from nested_selectors(atom)


def role_refs(rule: ast.Rule) -> Iterator[ast.Name]:
    """Every role name a rule uses, as written."""
    for selector in selectors(rule):
        for f in selector.filters:
            if isinstance(f, ast.FromRole):
                yield f.role
    for atom in atoms(rule.predicate):
        if isinstance(atom, ast.SignedBy):
            yield atom.signers.role
        elif isinstance(atom, ast.PerformedBy):
            yield atom.role
        elif isinstance(atom, ast.AttestedWith) and atom.signers is not None:
            yield atom.signers.role


def stage_refs(rule: ast.Rule) -> Iterator[ast.Name]:
    """Every lifecycle stage a rule's selections name."""
    for selector in selectors(rule):
        for f in selector.filters:
            if isinstance(f, (ast.InStage, ast.ProducedIn)):
                yield f.stage


def conditions(atom: ast.Predicate) -> tuple[ast.Condition, ...]:
    if isinstance(atom, (ast.AttestedWith, ast.Satisfies)):
        return atom.conditions
    return ()


def values(rule: ast.Rule) -> Iterator[ast.Value]:
    """Every value written in a rule (so references can be checked)."""
    for selector in selectors(rule):
        for f in selector.filters:
            if isinstance(f, ast.WhereField):
                yield f.value
    for atom in atoms(rule.predicate):
        for condition in conditions(atom):
            if isinstance(condition, ast.Compare):
                yield condition.value
            elif isinstance(condition, ast.Member):
                yield condition.options
        if isinstance(atom, ast.AttestedWith) and atom.within is not None:
            yield atom.within
        elif isinstance(atom, ast.ParamCompare):
            yield atom.value
        elif isinstance(atom, ast.IssuedWithin):
            yield atom.window
