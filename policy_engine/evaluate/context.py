"""What the evaluator reads: the policy, the graph, the time, and indexes derived once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate.lineage import Lineage
from policy_engine.graph.model import Attestation, ProvenanceGraph, SourceRef, Step


def _field_value(step: Step, path: tuple[str, ...]) -> Any:
    """A step field named by ``path``: ``name``, ``desc``, or ``meta.KEY...``."""
    if path == ("name",):
        return step.name
    if path == ("desc",):
        return step.desc
    if path[0] != "meta":
        return None
    value: Any = step.meta
    for part in path[1:]:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def step_in_set(step: Step, step_set: ir.StepSet) -> bool:
    if isinstance(step_set, ir.StepsNamed):
        return globs.matches_any(step_set.globs, step.name)
    value = _field_value(step, step_set.field)
    return value is not None and str(value) == step_set.value


@dataclass
class EvalContext:
    policy: ir.PolicySet
    graph: ProvenanceGraph
    now: datetime
    lineage: Lineage = field(init=False)

    def __post_init__(self) -> None:
        self.lineage = Lineage(self.graph)

    @cached_property
    def steps_by_stage(self) -> dict[str, list[Step]]:
        steps = sorted(self.graph.steps(), key=lambda s: s.name)
        return {
            stage: [s for s in steps if any(step_in_set(s, ss) for ss in sets)]
            for stage, sets in self.policy.stages.items()
        }

    def describe_key(self, keyid: str) -> str:
        """``name (keyid)`` for a trusted key, ``untrusted key keyid`` for any other."""
        name = self.key_name(keyid)
        return f"{name} ({keyid[:12]})" if name != keyid[:12] else f"untrusted key {keyid[:12]}"

    @cached_property
    def products(self) -> dict[str, list[tuple[Attestation, Mapping[str, str]]]]:
        """Per artifact path: the attestations naming it as a product, by file, with digests."""
        index: dict[str, list[tuple[Attestation, Mapping[str, str]]]] = {}
        for att in sorted(self.graph.attestations(), key=lambda a: a.file):
            for path, digest in att.products.items():
                index.setdefault(path, []).append((att, digest))
        return index

    def subject_source(self, subject: str) -> SourceRef | None:
        """Where a step, or the step producing an artifact, is defined (e.g. ``dvc.yaml:12``)."""
        g = self.graph
        node = g.step_id(subject)
        if node not in g.g:
            producers = self.lineage.producers(subject) if g.artifact_id(subject) in g.g else []
            if not producers:
                return None
            node = g.step_id(producers[0])
        return g.g.nodes[node]["data"].source

    @cached_property
    def _key_names(self) -> dict[str, str]:
        return {keyid: name for name, key in self.policy.keys.items() for keyid in key.ids}

    def key_name(self, keyid: str) -> str:
        """The policy's name for a key id, or the id's first 12 digits for an unknown key."""
        return self._key_names.get(keyid, keyid[:12])
