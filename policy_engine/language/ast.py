"""Syntax tree of a policy file. Every node has a span; equality ignores spans."""

from __future__ import annotations

from dataclasses import dataclass, field

from policy_engine.diagnostics import Span

NOWHERE = Span("", 0, 0, 0, 0)


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Name:
    """An identifier as written, e.g. a role name in ``signed by ml_team``."""

    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Text:
    """A string literal, unquoted and unescaped."""

    value: str
    span: Span = _span()


# -- values ----------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: int | float
    span: Span = _span()


@dataclass(frozen=True)
class Duration:
    """``30d``: a count and a unit among s, m, h, d, w."""

    raw: str
    span: Span = _span()


@dataclass(frozen=True)
class Date:
    """``2026-12-31``."""

    raw: str
    span: Span = _span()


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Reference:
    """A name standing for a value: a pack parameter."""

    name: Name
    span: Span = _span()


@dataclass(frozen=True)
class ListValue:
    items: tuple[Value, ...]
    span: Span = _span()


Value = Number | Text | Duration | Date | Bool | Reference | ListValue


@dataclass(frozen=True)
class Field:
    """A dotted path into a document, e.g. ``calibration.ece`` or ``meta.lifecycle``."""

    parts: tuple[str, ...]
    span: Span = _span()


# -- declarations ------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDecl:
    name: Text
    span: Span = _span()


@dataclass(frozen=True)
class PackDecl:
    name: Name
    span: Span = _span()


@dataclass(frozen=True)
class ParameterDecl:
    name: Name
    type: Name  # role, number, duration, string, bool, list
    default: Value | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Binding:
    name: Name
    value: Value
    span: Span = _span()


@dataclass(frozen=True)
class ImportDecl:
    path: Text
    bindings: tuple[Binding, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class KeyDecl:
    name: Name
    path: Text
    span: Span = _span()


@dataclass(frozen=True)
class RoleDecl:
    name: Name
    members: tuple[Name, ...]
    span: Span = _span()


@dataclass(frozen=True)
class StepsNamed:
    globs: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True)
class StepsWhere:
    field: Field
    op: str
    value: Value
    span: Span = _span()


StepSet = StepsNamed | StepsWhere


@dataclass(frozen=True)
class StageDecl:
    name: Name
    step_sets: tuple[StepSet, ...]
    span: Span = _span()


@dataclass(frozen=True)
class AttestationsDecl:
    path: Text
    span: Span = _span()


# -- selections ----------------------------------------------------------------


@dataclass(frozen=True)
class Matching:
    globs: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True)
class OfKind:
    kind: Name
    span: Span = _span()


@dataclass(frozen=True)
class InStage:
    stage: Name
    span: Span = _span()


@dataclass(frozen=True)
class ProducedIn:
    stage: Name
    span: Span = _span()


@dataclass(frozen=True)
class ProducedMatching:
    globs: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True)
class WhereField:
    field: Field
    op: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True)
class OfType:
    types: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True)
class FromRole:
    role: Name
    span: Span = _span()


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Selector:
    """``artifacts``, ``steps`` or ``attestations``, narrowed by every filter."""

    subject: str  # "artifacts" | "steps" | "attestations"
    filters: tuple[Filter, ...] = ()
    span: Span = _span()


# -- conditions on documents ---------------------------------------------------


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True)
class Member:
    field: Field
    options: ListValue
    span: Span = _span()


@dataclass(frozen=True)
class Exists:
    field: Field
    present: bool = True
    span: Span = _span()


Condition = Compare | Member | Exists


# -- predicates ------------------------------------------------------------------


@dataclass(frozen=True)
class Signers:
    """A role, and how many distinct keys of it (``at least N of ROLE``)."""

    role: Name
    threshold: Number | None = None
    span: Span = _span()


@dataclass(frozen=True)
class SignedBy:
    signers: Signers
    span: Span = _span()


@dataclass(frozen=True)
class DerivesFrom:
    sources: Selector
    span: Span = _span()


@dataclass(frozen=True)
class ProducedBy:
    steps: Selector
    span: Span = _span()


@dataclass(frozen=True)
class ReachesSource:
    span: Span = _span()


@dataclass(frozen=True)
class NoLineageThrough:
    through: Selector
    span: Span = _span()


@dataclass(frozen=True)
class Tracked:
    span: Span = _span()


@dataclass(frozen=True)
class MatchesWorkspace:
    span: Span = _span()


@dataclass(frozen=True)
class PerformedBy:
    role: Name
    span: Span = _span()


@dataclass(frozen=True)
class RunsDeclaredCommand:
    span: Span = _span()


@dataclass(frozen=True)
class CommandMatches:
    patterns: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True)
class AttestedWith:
    predicate_type: Text
    signers: Signers | None = None
    conditions: tuple[Condition, ...] = ()
    within: Value | None = None
    span: Span = _span()


@dataclass(frozen=True)
class HasParam:
    key: Text
    span: Span = _span()


@dataclass(frozen=True)
class ParamCompare:
    key: Text
    op: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True)
class IssuedWithin:
    window: Value
    span: Span = _span()


@dataclass(frozen=True)
class Satisfies:
    conditions: tuple[Condition, ...]
    span: Span = _span()


@dataclass(frozen=True)
class AllOf:
    items: tuple[Predicate, ...]
    span: Span = _span()


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Predicate, ...]
    span: Span = _span()


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Quantifier:
    kind: str  # "every" | "some" | "no" | "at least"
    count: Number | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Rule:
    quantifier: Quantifier
    selector: Selector
    predicate: Predicate
    span: Span = _span()


@dataclass(frozen=True)
class ControlDecl:
    id: Name
    title: Text
    severity: tuple[Name, ...] = ()
    stage: tuple[Name, ...] = ()
    description: tuple[Text, ...] = ()
    mitigates: tuple[Text, ...] = ()
    rules: tuple[Rule, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Module:
    """One parsed policy file."""

    file: str
    declarations: tuple[Declaration, ...]
