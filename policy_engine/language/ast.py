"""Syntax tree of a policy file. Every node has a span; equality ignores spans.

Nodes have no generated ``repr`` (it would only cost start-up time: ``mlpolicy fmt``
prints them as policy text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policy_engine.diagnostics import Span

NOWHERE = Span("", 0, 0, 0, 0)


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True, repr=False)
class Name:
    """An identifier as written, e.g. a role name in ``signed by ml_team``."""

    value: str
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Text:
    """A string literal, unquoted and unescaped."""

    value: str
    span: Span = _span()


# -- values ----------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Number:
    value: int | float
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Duration:
    """``30d``: a count and a unit among s, m, h, d, w."""

    raw: str
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Date:
    """``2026-12-31``."""

    raw: str
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Bool:
    value: bool
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Reference:
    """A name standing for a value: a pack parameter."""

    name: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ListValue:
    items: tuple[Value, ...]
    span: Span = _span()


Value = Number | Text | Duration | Date | Bool | Reference | ListValue


@dataclass(frozen=True, repr=False)
class Field:
    """A dotted path into a document, e.g. ``calibration.ece`` or ``meta.lifecycle``."""

    parts: tuple[str, ...]
    span: Span = _span()


# -- declarations ------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class PolicyDecl:
    name: Text
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class PackDecl:
    name: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ParameterDecl:
    name: Name
    type: Name  # role, number, duration, string, bool, list
    default: Value | None = None
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Binding:
    name: Name
    value: Value
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ImportDecl:
    path: Text
    bindings: tuple[Binding, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class KeyDecl:
    name: Name
    path: Text
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class RoleDecl:
    name: Name
    members: tuple[Name, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class StepsNamed:
    globs: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class StepsWhere:
    field: Field
    op: str
    value: Value
    span: Span = _span()


StepSet = StepsNamed | StepsWhere


@dataclass(frozen=True, repr=False)
class StageDecl:
    name: Name
    step_sets: tuple[StepSet, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class AttestationsDecl:
    path: Text
    span: Span = _span()


# -- selections ----------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Matching:
    globs: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class OfKind:
    kind: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class InStage:
    stage: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ProducedIn:
    stage: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ProducedMatching:
    globs: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class WhereField:
    field: Field
    op: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class OfType:
    types: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class FromRole:
    role: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class About:
    globs: tuple[Text, ...]
    span: Span = _span()


Filter = (
    Matching
    | OfKind
    | InStage
    | ProducedIn
    | ProducedMatching
    | WhereField
    | OfType
    | FromRole
    | About
)


@dataclass(frozen=True, repr=False)
class Selector:
    """``artifacts``, ``steps`` or ``attestations``, narrowed by every filter."""

    subject: str  # "artifacts" | "steps" | "attestations"
    filters: tuple[Filter, ...] = ()
    span: Span = _span()


# -- conditions on documents ---------------------------------------------------


@dataclass(frozen=True, repr=False)
class Compare:
    field: Field
    op: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Member:
    field: Field
    options: ListValue
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Exists:
    field: Field
    present: bool = True
    span: Span = _span()


Condition = Compare | Member | Exists


# -- predicates ------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Signers:
    """A role, and how many distinct keys of it (``at least N of ROLE``)."""

    role: Name
    threshold: Number | None = None
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class SignedBy:
    signers: Signers
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class DerivesFrom:
    sources: Selector
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ProducedBy:
    steps: Selector
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ReachesSource:
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class NoLineageThrough:
    through: Selector
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Tracked:
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class MatchesWorkspace:
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class PerformedBy:
    role: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class RunsDeclaredCommand:
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class CommandMatches:
    patterns: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class AttestedWith:
    predicate_type: Text
    signers: Signers | None = None
    conditions: tuple[Condition, ...] = ()
    within: Value | None = None
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class HasParam:
    key: Text
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ParamCompare:
    key: Text
    op: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class IssuedWithin:
    window: Value
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Satisfies:
    conditions: tuple[Condition, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class AllOf:
    items: tuple[Predicate, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class AnyOf:
    items: tuple[Predicate, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Not:
    item: Predicate
    span: Span = _span()


Predicate = (
    SignedBy
    | DerivesFrom
    | ProducedBy
    | ReachesSource
    | NoLineageThrough
    | Tracked
    | MatchesWorkspace
    | PerformedBy
    | RunsDeclaredCommand
    | CommandMatches
    | AttestedWith
    | HasParam
    | ParamCompare
    | IssuedWithin
    | Satisfies
    | AllOf
    | AnyOf
    | Not
)


@dataclass(frozen=True, repr=False)
class Quantifier:
    kind: str  # "every" | "some" | "no" | "at least"
    count: Number | None = None
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Rule:
    quantifier: Quantifier
    selector: Selector
    predicate: Predicate
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ControlDecl:
    id: Name
    title: Text
    severity: tuple[Name, ...] = ()
    stage: tuple[Name, ...] = ()
    description: tuple[Text, ...] = ()
    mitigates: tuple[Text, ...] = ()
    rules: tuple[Rule, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class WaiverDecl:
    control: Name
    subjects: tuple[Text, ...]
    owner: tuple[Text, ...] = ()
    reason: tuple[Text, ...] = ()
    expires: tuple[Date, ...] = ()
    span: Span = _span()


Declaration = (
    PolicyDecl
    | PackDecl
    | ParameterDecl
    | ImportDecl
    | KeyDecl
    | RoleDecl
    | StageDecl
    | AttestationsDecl
    | ControlDecl
    | WaiverDecl
)


@dataclass(frozen=True, repr=False)
class Module:
    """One parsed policy file."""

    file: str
    declarations: tuple[Declaration, ...]
