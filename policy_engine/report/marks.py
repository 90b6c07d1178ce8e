"""What a check says about the graph's drawing: which nodes fail, and the keys' names."""

from __future__ import annotations

from collections.abc import Iterable

from policy_engine.compiler import ir
from policy_engine.evaluate import Finding
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.graph.view import FAIL, WAIVED, Marks
from policy_engine.results import CheckResult


def key_names(policy: ir.PolicySet | None) -> dict[str, str]:
    """Every id a trusted key answers to, with the policy's name of the key."""
    if policy is None:
        return {}
    return {keyid: name for name, key in sorted(policy.keys.items()) for keyid in sorted(key.ids)}


def subject_node(graph: ProvenanceGraph, subject: str) -> str | None:
    """The graph node a finding's subject names: an artifact, else a step, an attestation."""
    for node in (
        graph.artifact_id(subject),
        graph.step_id(subject),
        graph.attestation_id(subject),
    ):
        if node in graph.g:
            return node
    return None


def marks_for(
    graph: ProvenanceGraph, policy: ir.PolicySet | None, result: CheckResult | None
) -> Marks:
    """The marks of a drawing: keys' names from ``policy``, statuses from ``result``."""
    findings = result.evaluation.findings if result is not None else ()
    return Marks(key_names(policy), _statuses(graph, findings))


def _statuses(graph: ProvenanceGraph, findings: Iterable[Finding]) -> dict[str, str]:
    statuses: dict[str, str] = {}
    for finding in findings:
        node = subject_node(graph, finding.subject)
        if node is not None and statuses.get(node) != FAIL:
            statuses[node] = WAIVED if finding.waived else FAIL
    return statuses
