"""The graph's nodes read in one pass: what several questions of an evaluation share.

A large graph's node attributes lie scattered in memory, so reading them costs
more than what is done with them: the nodes by kind, the artifacts' paths, the
digests of their bytes at hand and whether their digests may disagree are all
taken while each node is read, once per evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policy_engine.graph.bulk import node_attributes
from policy_engine.graph.model import DigestClaim, NodeKind, ProvenanceGraph, WorkspaceFile


@dataclass(frozen=True)
class NodeIndex:
    """Read-only facts of every node of one graph (:func:`index_nodes`)."""

    by_kind: dict[NodeKind, dict[str, Any]]  # {kind: {node id: its data}}, in graph order
    paths: dict[str, str]  # {artifact node id: its path}
    current_sha256: dict[str, str]  # {artifact path: sha256 of its bytes at hand}
    suspects: list[str]  # artifact paths whose digests may disagree, in graph order


def index_nodes(graph: ProvenanceGraph) -> NodeIndex:
    """Every node's facts the evaluator asks for, in one pass over the nodes."""
    by_kind: dict[NodeKind, dict[str, Any]] = {kind: {} for kind in NodeKind}
    paths: dict[str, str] = {}
    current: dict[str, str] = {}
    suspects: list[str] = []
    artifact = NodeKind.ARTIFACT
    for node, attrs in node_attributes(graph.g).items():
        data = by_kind[attrs["kind"]][node] = attrs["data"]
        if attrs["kind"] is artifact:
            path = paths[node] = data.path
            workspace = attrs["workspace"]
            if workspace is not None:
                current[path] = workspace.sha256
            if may_disagree(attrs["claims"], workspace):
                suspects.append(path)
    return NodeIndex(by_kind, paths, current, suspects)


def may_disagree(claims: list[DigestClaim], current: WorkspaceFile | None) -> bool:
    """Whether two digests of one algorithm differ among an artifact's claims and its
    bytes at hand (``current``).

    Those are a superset of its current claims (products are claims on it too), so
    False means they agree. The bytes' md5 is read only when a claim names one
    (alone, it could disagree with nothing).
    """
    seen: dict[str, str] = {}
    for algorithm, value, _ in claims:
        if seen.setdefault(algorithm, value) != value:
            return True
    if current is None:
        return False
    if "sha256" in seen and current.sha256 and current.sha256 != seen["sha256"]:
        return True
    md5 = current.md5 if "md5" in seen else ""
    return bool(md5) and md5 != seen["md5"]
