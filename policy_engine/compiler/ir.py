"""The compiled policy (IR): names resolved, parameters substituted, keys loaded, values checked.

The evaluator consumes only these types. ``Location`` points back at the
policy text so every finding can say which rule it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import get_args

from policy_engine.keys import Trusted

Scalar = int | float | str | bool | timedelta | date
Value = Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int


@dataclass(frozen=True)
class Role:
    name: str
    members: tuple[str, ...]  # key names, in declaration order
    keyids: frozenset[str]  # primary key ids computed from the key material


# -- step sets of a lifecycle stage ------------------------------------------


@dataclass(frozen=True)
class StepsNamed:
    globs: tuple[str, ...]


@dataclass(frozen=True)
class StepsWhere:
    field: tuple[str, ...]  # e.g. ("meta", "lifecycle")
    op: str
    value: Value


StepSet = StepsNamed | StepsWhere


# -- selections: a subject kind narrowed by filters ----------------------------


@dataclass(frozen=True)
class Matching:
    globs: tuple[str, ...]


@dataclass(frozen=True)
class OfKind:
    kind: str


@dataclass(frozen=True)
class InStage:
    stage: str


@dataclass(frozen=True)
class ProducedIn:
    stage: str


@dataclass(frozen=True)
class ProducedMatching:
    globs: tuple[str, ...]


@dataclass(frozen=True)
class WhereField:
    field: tuple[str, ...]
    op: str
    value: Value


@dataclass(frozen=True)
class OfType:
    types: tuple[str, ...]


@dataclass(frozen=True)
class FromRole:
    role: Role


@dataclass(frozen=True)
class About:
    globs: tuple[str, ...]


@dataclass(frozen=True)
class FromProvenance:
    """Steps that attestations record (``Step.recorded``), instead of pipeline steps."""


@dataclass(frozen=True)
class RegisteredAs:
    globs: tuple[str, ...]


@dataclass(frozen=True)
class WithAlias:
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class OfExperiment:
    globs: tuple[str, ...]


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


@dataclass(frozen=True)
class Selector:
    subject: str  # "artifacts" | "steps" | "attestations" | "models" | "runs"
    filters: tuple[Filter, ...] = ()


# -- conditions on documents ---------------------------------------------------


@dataclass(frozen=True)
class Compare:
    field: tuple[str, ...]
    op: str
    value: Value


@dataclass(frozen=True)
class Member:
    field: tuple[str, ...]
    options: tuple[Scalar, ...]


@dataclass(frozen=True)
class Exists:
    field: tuple[str, ...]
    present: bool


Condition = Compare | Member | Exists


# -- predicates ----------------------------------------------------------------
#
# One class per predicate of language/ast.py, of the same name and fields, lowered:
# names become what they name, values are resolved, and a `signers` field becomes
# `role` and `threshold` (lower.py does it generically).


@dataclass(frozen=True)
class SignedBy:
    role: Role
    threshold: int


@dataclass(frozen=True)
class DerivesFrom:
    sources: Selector


@dataclass(frozen=True)
class ProducedBy:
    steps: Selector


@dataclass(frozen=True)
class ProducerPerformedBy:
    role: Role
    threshold: int


@dataclass(frozen=True)
class ReachesSource:
    pass


@dataclass(frozen=True)
class NoLineageThrough:
    through: Selector


@dataclass(frozen=True)
class HasLineageThrough:
    through: Selector


@dataclass(frozen=True)
class Tracked:
    pass


@dataclass(frozen=True)
class MatchesWorkspace:
    pass


@dataclass(frozen=True)
class PerformedBy:
    role: Role
    threshold: int = 1  # distinct keys of the role, over all the step's links


@dataclass(frozen=True)
class RunsDeclaredCommand:
    pass


@dataclass(frozen=True)
class CommandMatches:
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class AttestedWith:
    predicate_type: str
    role: Role | None  # None: any trusted key
    threshold: int
    conditions: tuple[Condition, ...]
    within: timedelta | None


@dataclass(frozen=True)
class HasParam:
    key: str


@dataclass(frozen=True)
class ParamCompare:
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class IssuedWithin:
    window: timedelta


@dataclass(frozen=True)
class Satisfies:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class TrainedAtCommit:
    pass


@dataclass(frozen=True)
class TrainedOnTrackedData:
    pass


@dataclass(frozen=True)
class MetricCompare:
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class AllOf:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class Not:
    item: Predicate


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
Predicate = Atom | AllOf | AnyOf | Not
ATOMS: dict[str, type[Atom]] = {c.__name__: c for c in get_args(Atom)}


@dataclass(frozen=True)
class Rule:
    quantifier: str  # "every" | "some" | "no" | "at least"
    count: int  # for "at least"; 1 otherwise
    selector: Selector
    predicate: Predicate
    location: Location


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    severity: str
    stage: str
    description: str
    risks: tuple[str, ...]
    rules: tuple[Rule, ...]
    location: Location


@dataclass(frozen=True)
class Waiver:
    control: str
    subjects: tuple[str, ...]  # globs over finding subjects
    owner: str
    reason: str
    expires: date
    location: Location


@dataclass(frozen=True)
class LayoutOwners:
    """`layout "GLOB", ... owned by ROLE`: layouts at those paths need every key of ROLE."""

    globs: tuple[str, ...]
    role: Role
    location: Location


@dataclass(frozen=True)
class TrackingStore:
    """An MLflow tracking store the policy declares: its path as written, and where."""

    path: str
    location: Location


@dataclass(frozen=True)
class PolicySet:
    """Every policy file of a repository, compiled together into one namespace."""

    name: str
    keys: dict[str, Trusted]  # public keys, Sigstore identities, certificate authorities
    roles: dict[str, Role]
    stages: dict[str, tuple[StepSet, ...]]
    attestation_paths: tuple[Path, ...]
    controls: tuple[Control, ...]
    waivers: tuple[Waiver, ...]
    location: Location  # where the policy is declared: built-in findings point here
    signature_types: tuple[str, ...] = ()  # statement types that sign (globs), beside the defaults
    unjudged_fail: bool = False  # `on unjudged fail`: a rule it cannot judge is a finding
    layouts: tuple[LayoutOwners, ...] = ()  # who must sign which in-toto layouts
    tracking_stores: tuple[TrackingStore, ...] = ()
