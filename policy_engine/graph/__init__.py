"""The provenance graph: artifacts, steps, attestations and principals, and their builders.

The graph's types are loaded on first use: reading attestations (``mlpolicy verify``)
needs none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name in __all__:
        from policy_engine.graph import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
