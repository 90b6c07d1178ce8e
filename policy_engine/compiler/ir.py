"""The compiled policy (IR): names resolved, keys loaded, values checked.

The evaluator consumes only these types. ``Location`` points back at the
policy text so every finding can say which rule it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from policy_engine.keys import PublicKey


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int


# -- step sets of a lifecycle stage ----------------------------------------


@dataclass(frozen=True)
class StepsNamed:
    globs: tuple[str, ...]


@dataclass(frozen=True)
class StepsWhere:
    field: tuple[str, ...]  # e.g. ("meta", "lifecycle")
    value: str


StepSet = StepsNamed | StepsWhere


# -- selectors ---------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactsMatching:
    globs: tuple[str, ...]


@dataclass(frozen=True)
class StepsIn:
    stage: str


@dataclass(frozen=True)
class StepsMatching:
    globs: tuple[str, ...]


Selector = ArtifactsMatching | StepsIn | StepsMatching


# -- predicates --------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    name: str
    members: tuple[str, ...]  # key names, in declaration order
    keyids: frozenset[str]  # primary key ids computed from the key material


@dataclass(frozen=True)
class SignedBy:
    role: Role
    threshold: int


@dataclass(frozen=True)
class DerivesFrom:
    sources: ArtifactsMatching


@dataclass(frozen=True)
class PerformedBy:
    role: Role


@dataclass(frozen=True)
class AllOf:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class Not:
    item: Predicate


Predicate = SignedBy | DerivesFrom | PerformedBy | AllOf | AnyOf | Not


@dataclass(frozen=True)
class Rule:
    quantifier: str  # "every" | "some" | "no"
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
    rules: tuple[Rule, ...]
    location: Location


@dataclass(frozen=True)
class PolicySet:
    """Every policy file of a repository, compiled together into one namespace."""

    name: str
    keys: dict[str, PublicKey]
    roles: dict[str, Role]
    stages: dict[str, tuple[StepSet, ...]]
    attestation_paths: tuple[Path, ...]
    controls: tuple[Control, ...]
    location: Location  # where the policy is declared: built-in findings point here
