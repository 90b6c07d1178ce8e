"""Syntax tree of a policy file. Every node has a span; equality ignores spans."""

from __future__ import annotations

from dataclasses import dataclass, field

from policy_engine.diagnostics import Span

_NOWHERE = Span("", 0, 0, 0, 0)


@dataclass(frozen=True)
class Name:
    """An identifier as written, e.g. a role name in ``signed by ml_team``."""

    value: str
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Text:
    """A string literal, unquoted and unescaped."""

    value: str
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


# -- declarations --------------------------------------------------------


@dataclass(frozen=True)
class PolicyDecl:
    name: Text
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class KeyDecl:
    name: Name
    path: Text
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class RoleDecl:
    name: Name
    members: tuple[Name, ...]
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class StepsNamed:
    globs: tuple[Text, ...]
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class StepsWhere:
    field: tuple[Name, ...]
    value: Text
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


StepSet = StepsNamed | StepsWhere


@dataclass(frozen=True)
class StageDecl:
    name: Name
    step_sets: tuple[StepSet, ...]
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class AttestationsDecl:
    path: Text
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


# -- rules ---------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactsMatching:
    globs: tuple[Text, ...]
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class StepsIn:
    stage: Name
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class StepsMatching:
    globs: tuple[Text, ...]
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


Selector = ArtifactsMatching | StepsIn | StepsMatching


@dataclass(frozen=True)
class SignedBy:
    role: Name
    threshold: int | None = None
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class DerivesFrom:
    sources: Selector
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class PerformedBy:
    role: Name
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class AllOf:
    items: tuple[Predicate, ...]
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Predicate, ...]
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Not:
    item: Predicate
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


Predicate = SignedBy | DerivesFrom | PerformedBy | AllOf | AnyOf | Not


@dataclass(frozen=True)
class Rule:
    quantifier: str  # "every" | "some" | "no"
    selector: Selector
    predicate: Predicate
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class ControlDecl:
    id: Name
    title: Text
    severity: tuple[Name, ...] = ()
    stage: tuple[Name, ...] = ()
    description: tuple[Text, ...] = ()
    rules: tuple[Rule, ...] = ()
    span: Span = field(default=_NOWHERE, compare=False, repr=False)


Declaration = PolicyDecl | KeyDecl | RoleDecl | StageDecl | AttestationsDecl | ControlDecl


@dataclass(frozen=True)
class Module:
    """One parsed policy file."""

    file: str
    declarations: tuple[Declaration, ...]
