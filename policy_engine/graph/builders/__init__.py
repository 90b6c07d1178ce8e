"""Graph builders: each adds the facts of one kind of source to a ProvenanceGraph.

Every builder has the same signature, ``builder(graph, context) -> None``; they
run in the order of :data:`BUILDERS` (see ``policy_engine.graph.build``). A
builder never executes anything from its inputs and never writes into the
repository. Problems in the inputs that the engine can still judge around are
recorded as ``graph.issues``; inputs it cannot judge raise ``InputError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring


@dataclass(frozen=True)
class BuildContext:
    """What builders may read: the repository, where attestations are, the trusted keys."""

    root: Path
    keyring: Keyring
    attestation_paths: tuple[Path, ...] = field(default_factory=tuple)


Builder = Callable[[ProvenanceGraph, BuildContext], None]
