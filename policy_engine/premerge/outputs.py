"""DVC outputs changed in the working tree: bytes unlike the md5 DVC recorded for them.

Git does not see a change to an output it ignores; the provenance graph does: the
workspace's real md5 of each artifact beside the md5 ``dvc.lock`` or a ``.dvc``
file records. Outputs git tracks (e.g. ``cache: false`` metrics) are left to
``git status``, so that a committed inconsistency is not mistaken for a change.
"""

from __future__ import annotations

from collections.abc import Collection

from policy_engine.graph.model import ProvenanceGraph

_RECORDS = ("dvc.lock", ".dvc")


def changed_outputs(graph: ProvenanceGraph, tracked: Collection[str]) -> tuple[str, ...]:
    """Artifacts outside git whose workspace md5 differs from one DVC recorded (sorted)."""
    return tuple(
        sorted(
            artifact.path
            for artifact in graph.artifacts()
            if artifact.path not in tracked and _differs(graph, artifact.path)
        )
    )


def _differs(graph: ProvenanceGraph, path: str) -> bool:
    current = graph.workspace(path)
    if current is None:  # not materialised: nothing was changed, the bytes are elsewhere
        return False
    return any(
        claim.value != current.md5
        for claim in graph.claims(path)
        if claim.algorithm == "md5" and claim.source.file.endswith(_RECORDS)
    )
