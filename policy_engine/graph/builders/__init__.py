"""Graph builders: each adds the facts of one kind of source to a ProvenanceGraph.

Every builder has the same signature, ``builder(graph, context) -> None``; they
run in the order of :data:`BUILDERS` (see ``policy_engine.graph.build``). A
builder never executes anything from its inputs and never writes into the
repository. Problems in the inputs that the engine can still judge around are
recorded as ``graph.issues``; inputs it cannot judge raise ``InputError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine.keys import Keyring

if TYPE_CHECKING:  # neither the compiler (and its parser) nor the graph's types read attestations
    from policy_engine.compiler.ir import TrackingStore
    from policy_engine.graph.builders.attestations.builder import Started
    from policy_engine.graph.model import ProvenanceGraph


@dataclass(frozen=True)
class LayoutOwners:
    """A policy's `layout "GLOB" owned by ROLE`: layouts whose path matches need every key."""

    glob: str  # over the layout's repository-relative path
    role: str
    keyids: frozenset[str]  # ids computed from the owner keys' material


@dataclass(frozen=True)
class BuildContext:
    """What builders may read: the repository, where attestations are, the trusted keys.

    ``now`` is the time layouts expire against (None: the time of the build);
    ``hash_cache`` allows the persistent hash cache (outside the repository);
    ``progress`` allows a progress line on a terminal's stderr; ``deferred`` is
    work one builder leaves for a later builder of the same build (e.g.
    statement subjects matched once the workspace is hashed). ``layout_owners``
    say which keys must sign which in-toto layouts (none: no layout is trusted);
    ``cache_repo`` is the repository whose DVC cache holds the bytes of outputs
    missing from the workspace; None: the repository itself; ``tracking_stores``
    are the MLflow stores the policy declares; ``dvc_cache`` false: the DVC cache is not
    read (outputs missing from the workspace are judged from the lock); ``started``:
    the attestation files found and their reading begun by the build before its first
    builder (None: the attestation builder finds and reads them).
    """

    root: Path
    keyring: Keyring
    attestation_paths: tuple[Path, ...] = field(default_factory=tuple)
    now: datetime | None = None
    hash_cache: bool = True
    progress: bool = False
    layout_owners: tuple[LayoutOwners, ...] = ()
    deferred: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    cache_repo: Path | None = None
    tracking_stores: tuple[TrackingStore, ...] = ()
    dvc_cache: bool = True
    started: Started | None = field(default=None, compare=False, repr=False)


Builder = Callable[["ProvenanceGraph", BuildContext], None]


def cpu_count() -> int:
    """The CPUs this process may run on (what builders size their workers by)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def configured_workers() -> int | None:
    """The number of worker processes ``MLPOLICY_WORKERS`` asks for, or None when unset."""
    configured = os.environ.get("MLPOLICY_WORKERS", "")
    return int(configured) if configured.isdigit() else None
