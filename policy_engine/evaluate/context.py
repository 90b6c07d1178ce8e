"""What the evaluator reads: the policy, the graph, the time, and indexes derived once."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate import conditions, kinds
from policy_engine.evaluate.lineage import Lineage
from policy_engine.graph import tracking
from policy_engine.graph.model import (
    Attestation,
    Evidence,
    NodeKind,
    ProvenanceGraph,
    SourceRef,
    Step,
)
from policy_engine.graph.tracking import ModelVersion, Run
from policy_engine.schemas.predicates import SIGNATURE_TYPES, schema_problem

FROM_LOCK = "judged from dvc.lock: inherits DVC's md5"
"""Said of every verdict on an artifact whose bytes are not materialised."""


def step_field(step: Step, path: tuple[str, ...]) -> Any:
    """A step field named by ``path``: ``name``, ``desc``, ``cmd``, ``meta.KEY...``,
    ``params.KEY``; :data:`conditions._MISSING` when absent."""
    document = {
        "name": step.name,
        "desc": step.desc,
        "cmd": " && ".join(step.cmd),
        "meta": step.meta,
        "params": dict(step.params),
    }
    if path[0] == "params" and len(path) > 1:
        return step.params.get(".".join(path[1:]), conditions.MISSING)
    return conditions.lookup(document, path)


def step_in_set(step: Step, step_set: ir.StepSet) -> bool:
    if isinstance(step_set, ir.StepsNamed):
        return globs.matcher(step_set.globs)(step.name) is not None
    return conditions.compare(step_field(step, step_set.field), step_set.op, step_set.value)


def _in_sets(steps: list[Step], sets: tuple[ir.StepSet, ...]) -> list[Step]:
    """The ``steps`` in any of the ``sets`` (:func:`step_in_set`), in order; steps named by
    globs found with one compiled matcher over all the names."""
    chosen: set[str] = set()
    for step_set in sets:
        if isinstance(step_set, ir.StepsNamed):
            chosen.update(filter(globs.matcher(step_set.globs), (s.name for s in steps)))
        else:
            chosen.update(s.name for s in steps if step_in_set(s, step_set))
    return [s for s in steps if s.name in chosen]


def int_or(text: str) -> tuple[int, str]:
    """A version number sorts as a number (``10`` after ``9``), anything else after."""
    return (int(text), "") if text.isdigit() else (1 << 62, text)


class Subject(NamedTuple):
    """What a rule examines: an artifact path, a step name or an attestation id."""

    kind: str  # "artifacts" | "steps" | "attestations" | "models" | "runs"
    name: str


@dataclass
class EvalContext:
    policy: ir.PolicySet
    graph: ProvenanceGraph
    now: datetime
    lineage: Lineage = field(init=False)

    def __post_init__(self) -> None:
        self.lineage = Lineage(self.graph)
        self._schema_problems: dict[str, str | None] = {}
        self.selections: dict[ir.Selector, list[str]] = {}  # filled by selectors.select
        # the graph nodes of selections, for lineage (filled by predicates.lineage)
        self.selected_nodes: dict[ir.Selector, frozenset[str]] = {}
        self._signature_evidence: dict[str, tuple[Evidence, ...]] = {}

    @cached_property
    def steps_by_stage(self) -> dict[str, list[Step]]:
        steps = sorted(self.steps.values(), key=lambda s: s.name)
        return {stage: _in_sets(steps, sets) for stage, sets in self.policy.stages.items()}

    @cached_property
    def stage_step_names(self) -> dict[str, frozenset[str]]:
        return {
            stage: frozenset(s.name for s in steps) for stage, steps in self.steps_by_stage.items()
        }

    def signature_evidence(self, att: Attestation) -> tuple[Evidence, ...]:
        """One evidence per signature of ``att``: its status and key (computed once)."""
        found = self._signature_evidence.get(att.file)
        if found is None:
            found = self._signature_evidence[att.file] = tuple(
                Evidence(f"signature {s.status.value}", self.describe_key(s.keyid), att.file)
                for s in att.signatures
            )
        return found

    def describe_key(self, keyid: str) -> str:
        """``name (keyid)`` for a trusted key, ``untrusted key keyid`` for any other."""
        name = self.key_name(keyid)
        return f"{name} ({keyid[:12]})" if name != keyid[:12] else f"untrusted key {keyid[:12]}"

    @cached_property
    def steps(self) -> dict[str, Step]:
        steps: dict[str, Step] = self.lineage.nodes[NodeKind.STEP]  # by node id
        return {s.name: s for s in steps.values()}

    @cached_property
    def attestations(self) -> dict[str, Attestation]:
        """Attestations by id (their ``file``), in a stable order."""
        found: dict[str, Attestation] = self.lineage.nodes[NodeKind.ATTESTATION]
        return {a.file: a for a in sorted(found.values(), key=lambda a: a.file)}

    @cached_property
    def runs(self) -> dict[str, Run]:
        """MLflow runs by subject (``runs:/ID``), in a stable order."""
        return {r.subject: r for r in sorted(tracking.runs(self.graph), key=lambda r: r.subject)}

    @cached_property
    def model_versions(self) -> dict[str, ModelVersion]:
        """Registered model versions by subject (``models:/NAME/VERSION``), in a stable order."""
        found = sorted(
            tracking.model_versions(self.graph), key=lambda v: (v.name, int_or(v.version))
        )
        return {v.subject: v for v in found}

    @cached_property
    def artifact_paths(self) -> list[str]:
        return sorted(self.lineage.paths.values())

    @cached_property
    def current_sha256(self) -> dict[str, str]:
        """The sha256 of each artifact's bytes at hand (``graph.workspace``), by path."""
        return self.lineage.index.current_sha256

    def artifact_kind(self, path: str) -> str:
        return kinds.artifact_kind(path, self.graph.g.nodes[self.graph.artifact_id(path)])

    @cached_property
    def subjects_by_path(self) -> dict[str, list[tuple[Attestation, Mapping[str, str]]]]:
        """Per artifact path: the statements about it, by file, with the digests they name."""
        index: dict[str, list[tuple[Attestation, Mapping[str, str]]]] = {}
        for att in self.attestations.values():
            for path, digest in att.subjects.items():
                index.setdefault(path, []).append((att, digest))
        return index

    def directory_files(self, path: str) -> list[str]:
        """The files of a DVC directory output as its ``.dir`` manifest lists them; [] for
        anything else (or when the manifest is not at hand)."""
        if not any(c.value.endswith(".dir") for c in self.graph.claims(path)):
            return []
        prefix = path.rstrip("/") + "/"
        paths = self.artifact_paths
        found: list[str] = []
        for member in paths[bisect.bisect_left(paths, prefix) :]:
            if not member.startswith(prefix):
                break
            if any(c.source.what.endswith("manifest") for c in self.graph.claims(member)):
                found.append(member)
        return found

    def signs(self, att: Attestation) -> bool:
        """Whether ``att`` is a signature of what it names: a link (its products), or a
        statement of a signature type (its subjects); other statements are evidence."""
        if att.kind == "link":
            return True
        types = (*SIGNATURE_TYPES, *self.policy.signature_types)
        return globs.matches_any(types, att.predicate_type)

    @cached_property
    def signatures_by_path(self) -> dict[str, list[tuple[Attestation, Mapping[str, str]]]]:
        """Per artifact path: the signatures naming it, by file, with the digests they sign."""
        index = {path: list(found) for path, found in self.products.items()}
        for path, found in self.subjects_by_path.items():
            signing = [(att, digest) for att, digest in found if self.signs(att)]
            if signing:
                index.setdefault(path, []).extend(signing)
        return index

    def at_current_digest(self, path: str, digest: Mapping[str, str]) -> bool | None:
        """Whether ``digest`` names the current bytes of ``path``; None: it cannot be told.

        The current bytes are those at hand (the workspace, or the DVC cache); for
        a DVC output not materialised, the digest DVC records for them (so the
        answer inherits DVC's md5): None when ``digest`` names none in that
        algorithm. An artifact with neither has no current bytes: False.
        """
        current = self.graph.workspace(path)
        if current is not None:
            return any(current.digest(a) == v for a, v in digest.items())
        locked = self.graph.locked(path)
        if locked is None:
            return False
        if locked.algorithm not in digest:
            return None
        return digest[locked.algorithm] == locked.value

    def current_evidence(self, path: str) -> Evidence | None:
        """The current digest of ``path`` as evidence: where it was read, or what DVC records."""
        current = self.graph.workspace(path)
        if current is not None:
            return Evidence(f"{current.location} sha256", current.sha256, path)
        locked = self.graph.locked(path)
        if locked is not None:
            label = f"{locked.source.file} {locked.algorithm} (not materialised)"
            return Evidence(label, locked.value, str(locked.source))
        return None

    def schema_problem(self, att: Attestation) -> str | None:
        """Why a statement's predicate does not match its type's schema (cached)."""
        if att.file not in self._schema_problems:
            self._schema_problems[att.file] = schema_problem(att.predicate_type, att.predicate)
        return self._schema_problems[att.file]

    @cached_property
    def products(self) -> dict[str, list[tuple[Attestation, Mapping[str, str]]]]:
        """Per artifact path: the attestations naming it as a product, by file, with digests."""
        index: dict[str, list[tuple[Attestation, Mapping[str, str]]]] = {}
        for att in self.attestations.values():
            for path, digest in att.products.items():
                index.setdefault(path, []).append((att, digest))
        return index

    def subject_source(self, subject: str) -> SourceRef | None:
        """Where a step, or the step producing an artifact, is defined (e.g. ``dvc.yaml:12``)."""
        g = self.graph
        tracked = self.runs.get(subject) or self.model_versions.get(subject)
        if tracked is not None:
            return tracked.source
        node = g.step_id(subject)
        if node not in g.g:
            producers = self.lineage.producers(subject) if g.artifact_id(subject) in g.g else []
            if not producers:
                return None
            node = g.step_id(producers[0])
        source: SourceRef | None = g.g.nodes[node]["data"].source
        return source

    @cached_property
    def _key_names(self) -> dict[str, str]:
        return {keyid: name for name, key in self.policy.keys.items() for keyid in key.ids}

    def key_name(self, keyid: str) -> str:
        """The policy's name for a key id, or the id's first 12 digits for an unknown key."""
        return self._key_names.get(keyid, keyid[:12])
