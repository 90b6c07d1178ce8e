"""The provenance graph: artifacts, steps, attestations and principals, and their builders."""

from policy_engine.graph.model import (
    Artifact,
    Attestation,
    DigestClaim,
    EdgeKind,
    Issue,
    NodeKind,
    Principal,
    ProvenanceGraph,
    SignatureCheck,
    SourceRef,
    Step,
    WorkspaceFile,
)

__all__ = [
    "Artifact",
    "Attestation",
    "DigestClaim",
    "EdgeKind",
    "Issue",
    "NodeKind",
    "Principal",
    "ProvenanceGraph",
    "SignatureCheck",
    "SourceRef",
    "Step",
    "WorkspaceFile",
]
