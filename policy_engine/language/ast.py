"""Syntax tree of a policy file. Every node has a span; equality ignores spans.

Nodes have no generated ``repr`` (it would only cost start-up time: ``mlpolicy fmt``
prints them as policy text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, get_args

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
class KeySetDecl:
    """``keys NAME from "GLOB"``: every key file the glob matches, and a role NAME of them."""

    name: Name
    path: Text
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class CaDecl:
    """``ca NAME from "file.pem"``: certificates chaining to these CAs sign as NAME."""

    name: Name
    path: Text
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class LayoutDecl:
    """``layout "GLOB", ... owned by ROLE``: such layouts need every key of ROLE's signature."""

    globs: tuple[Text, ...]
    owners: Name
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class IdentityDecl:
    """``identity NAME = "who" issuer "url" [root "file"]``: a keyless Sigstore signer."""

    name: Name
    identity: Text
    issuer: Text
    root: Text | None = None
    span: Span = _span()


SignerDecl = KeyDecl | CaDecl | IdentityDecl
"""What a role may hold: declared under one namespace, as keys."""


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


@dataclass(frozen=True, repr=False)
class SignaturesDecl:
    """``signatures from statements of type "GLOB", ...``: statement types that sign."""

    types: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class OnUnjudgedDecl:
    """``on unjudged fail``: a rule the inputs cannot judge is a finding, not exit 2."""

    span: Span = _span()


@dataclass(frozen=True, repr=False)
class MlflowDecl:
    """``mlflow in "mlflow.db"``: an MLflow tracking store (SQLite file or ``mlruns/`` folder)."""

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


@dataclass(frozen=True, repr=False)
class FromProvenance:
    """``from provenance``: steps that attestations record, which no pipeline declares."""

    span: Span = _span()


@dataclass(frozen=True, repr=False)
class RegisteredAs:
    """Registered model versions whose model name matches a glob."""

    globs: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class WithAlias:
    """Registered model versions that an alias (e.g. ``champion``) points at."""

    aliases: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class OfExperiment:
    """MLflow runs of an experiment whose name matches a glob."""

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
    | FromProvenance
    | RegisteredAs
    | WithAlias
    | OfExperiment
)


@dataclass(frozen=True, repr=False)
class Selector:
    """``artifacts``, ``steps`` or ``attestations``, narrowed by every filter."""

    subject: str  # "artifacts" | "steps" | "attestations" | "models" | "runs"
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
#
# A predicate is a grammar rule (grammar/mlpolicy.lark, named like its class in
# snake_case), a syntax class here carrying its `Syntax`, an IR class of the same
# name and fields in compiler/ir.py, and an evaluator registered beside its
# family in evaluate/predicates/. Parsing, printing, checking, walking and
# lowering read the class and its `Syntax`; nothing else lists predicates.


@dataclass(frozen=True)
class Syntax:
    """How a predicate reads and what it may follow.

    ``text`` is its canonical form: ``{field}`` prints a field (tuples joined by
    commas) and a ``[...]`` segment is left out when the field in it is empty.
    ``verb`` is the optional leading word (``is``, ``was``) dropped after ``not``.
    """

    text: str
    applies_to: tuple[str, ...]  # subject kinds of the selection it follows
    nested: tuple[str, ...] = ()  # what its nested selection must select
    durations: tuple[str, ...] = ()  # fields whose value must be a duration
    verb: str = ""

    @property
    def phrase(self) -> str:
        """The words that name it in messages, e.g. ``signed by``."""
        return self.text.split("{")[0].removeprefix(self.verb).strip()


@dataclass(frozen=True, repr=False)
class Signers:
    """A role, and how many distinct keys of it (``at least N of ROLE``)."""

    role: Name
    threshold: Number | None = None
    span: Span = _span()


_ARTIFACTS = ("artifacts",)
_STEPS = ("steps",)


@dataclass(frozen=True, repr=False)
class SignedBy:
    syntax: ClassVar[Syntax] = Syntax(
        "is signed by {signers}", ("artifacts", "attestations"), verb="is "
    )
    signers: Signers
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class DerivesFrom:
    syntax: ClassVar[Syntax] = Syntax("derives from {sources}", _ARTIFACTS, nested=_ARTIFACTS)
    sources: Selector
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ProducedBy:
    syntax: ClassVar[Syntax] = Syntax("is produced by {steps}", _ARTIFACTS, nested=_STEPS)
    steps: Selector
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ProducerPerformedBy:
    syntax: ClassVar[Syntax] = Syntax("is produced by a step performed by {signers}", _ARTIFACTS)
    signers: Signers
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ReachesSource:
    syntax: ClassVar[Syntax] = Syntax("reaches a declared source", _ARTIFACTS)
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class NoLineageThrough:
    syntax: ClassVar[Syntax] = Syntax(
        "has no lineage through {through}", _ARTIFACTS, nested=("artifacts", "steps")
    )
    through: Selector
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class HasLineageThrough:
    syntax: ClassVar[Syntax] = Syntax(
        "has lineage through {through}", _ARTIFACTS, nested=("artifacts", "steps")
    )
    through: Selector
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Tracked:
    syntax: ClassVar[Syntax] = Syntax("is tracked", _ARTIFACTS, verb="is ")
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class MatchesWorkspace:
    syntax: ClassVar[Syntax] = Syntax("matches the workspace", _ARTIFACTS)
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class PerformedBy:
    syntax: ClassVar[Syntax] = Syntax("is performed by {signers}", _STEPS, verb="is ")
    role: Name
    threshold: Number | None = None  # at least this many distinct keys of the role
    span: Span = _span()

    @property
    def signers(self) -> Signers:
        """The role and threshold, as ``signed by`` takes them."""
        return Signers(self.role, self.threshold, self.span)


@dataclass(frozen=True, repr=False)
class RunsDeclaredCommand:
    syntax: ClassVar[Syntax] = Syntax("runs its declared command", _STEPS)
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class CommandMatches:
    syntax: ClassVar[Syntax] = Syntax("command matches {patterns}", _STEPS)
    patterns: tuple[Text, ...]
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class AttestedWith:
    syntax: ClassVar[Syntax] = Syntax(
        "is attested with {predicate_type}[ by {signers}][ where {conditions}][ within {within}]",
        ("artifacts", "steps"),
        durations=("within",),
        verb="is ",
    )
    predicate_type: Text
    signers: Signers | None = None
    conditions: tuple[Condition, ...] = ()
    within: Value | None = None
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class HasParam:
    syntax: ClassVar[Syntax] = Syntax("has param {key}", _STEPS)
    key: Text
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class ParamCompare:
    syntax: ClassVar[Syntax] = Syntax("param {key} {op} {value}", _STEPS)
    key: Text
    op: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class IssuedWithin:
    syntax: ClassVar[Syntax] = Syntax(
        "was issued within {window}", ("attestations",), durations=("window",), verb="was "
    )
    window: Value
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class Satisfies:
    syntax: ClassVar[Syntax] = Syntax("satisfies {conditions}", ("attestations",))
    conditions: tuple[Condition, ...]
    span: Span = _span()


# MLflow: a registered model version stands for the run behind it; an artifact for the runs
# that logged its exact bytes.
_TRACKED = ("models", "runs", "artifacts")


@dataclass(frozen=True, repr=False)
class TrainedAtCommit:
    syntax: ClassVar[Syntax] = Syntax("was trained at this commit", _TRACKED, verb="was ")
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class TrainedOnTrackedData:
    syntax: ClassVar[Syntax] = Syntax("was trained on tracked data", _TRACKED, verb="was ")
    span: Span = _span()


@dataclass(frozen=True, repr=False)
class MetricCompare:
    syntax: ClassVar[Syntax] = Syntax("metric {key} {op} {value}", _TRACKED)
    key: Text
    op: str
    value: Value
    span: Span = _span()


Atom = (
    SignedBy
    | DerivesFrom
    | ProducedBy
    | ProducerPerformedBy
    | ReachesSource
    | NoLineageThrough
    | HasLineageThrough
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
    | TrainedAtCommit
    | TrainedOnTrackedData
    | MetricCompare
)


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


Predicate = Atom | AllOf | AnyOf | Not


def rule_name(cls: type) -> str:
    """The grammar rule of a predicate class: its name in snake_case."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


ATOM_TYPES: tuple[type[Atom], ...] = get_args(Atom)
# Every predicate's syntax class, by the name of its grammar rule.
ATOMS: dict[str, type[Atom]] = {rule_name(c): c for c in ATOM_TYPES}


def atom_fields(node: Atom) -> dict[str, Any]:
    """A predicate's own fields (its span left out), in declaration order."""
    return {f.name: getattr(node, f.name) for f in fields(node) if f.name != "span"}


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
    | KeySetDecl
    | LayoutDecl
    | CaDecl
    | IdentityDecl
    | RoleDecl
    | StageDecl
    | AttestationsDecl
    | OnUnjudgedDecl
    | SignaturesDecl
    | MlflowDecl
    | ControlDecl
    | WaiverDecl
)


@dataclass(frozen=True, repr=False)
class Module:
    """One parsed policy file."""

    file: str
    declarations: tuple[Declaration, ...]
