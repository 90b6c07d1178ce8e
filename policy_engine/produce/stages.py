"""A DVC stage as the engine sees it: its command, its path dependencies and its outputs.

Loaded through the engine's own DVC builder (:func:`policy_engine.graph.builders.dvc.build_dvc`,
DVC's loader, nothing run or written), so a stage is named as policies name it
(``train``, ``sub/dvc.yaml:train``, ``each@a``), ``vars`` and ``foreach`` are
resolved as DVC resolves them, and the command is the argv the engine expects a
link to record (several commands joined by ``&&``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from policy_engine.errors import InputError
from policy_engine.graph.model import EdgeKind, ProvenanceGraph, Step, declared_argv
from policy_engine.produce.artifacts import outermost

MAX_LISTED = 10
Edge = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class StageIO:
    """A stage's name, declared command (argv), path dependencies and outputs (outermost)."""

    name: str
    argv: tuple[str, ...]
    materials: tuple[str, ...]
    products: tuple[str, ...]
    source: str
    locked: tuple[tuple[str, str], ...] = ()  # (path, md5) as dvc.lock records them
    changes: tuple[str, ...] = ()  # how the stage differs from its lock entry


# Issues of the DVC builder that mean DVC would report the stage as changed.
CHANGED = frozenset({"not-in-lock", "lock-mismatch", "params-changed"})


def load_stage(root: Path, name: str) -> StageIO:
    """The stage ``name`` of the DVC projects under ``root``; an :class:`InputError` if none."""
    (stage,) = load_stages(root, [name])
    return stage


def load_stages(root: Path, names: Iterable[str] | None = None) -> list[StageIO]:
    """The stages named (every stage of the pipelines for None), read in one pass."""
    from policy_engine.graph.builders import BuildContext
    from policy_engine.graph.builders.dvc import build_dvc
    from policy_engine.keys import Keyring

    if not root.is_dir():
        raise InputError("repository folder not found", str(root))
    graph = ProvenanceGraph(str(root))
    build_dvc(graph, BuildContext(root, Keyring({}), hash_cache=False))
    if names is None:
        names = [s.name for s in graph.steps() if not s.recorded]
    stages = [_stage(graph, name, root) for name in dict.fromkeys(names)]
    if not stages:
        raise InputError("no DVC stage found", str(root))
    return stages


def _stage(graph: ProvenanceGraph, name: str, root: Path) -> StageIO:
    node = graph.step_id(name)
    if node not in graph.g:
        raise InputError(f"no DVC stage `{name}`{_known(graph)}", str(root))
    escapes = [
        i.message
        for i in graph.issues
        if i.code == "path-escape" and f"stage `{name}` " in i.message
    ]
    if escapes:
        raise InputError(escapes[0], name)
    step: Step = graph.g.nodes[node]["data"]
    ins, outs = graph.g.in_edges(node, data=True), graph.g.out_edges(node, data=True)
    return StageIO(
        name=name,
        argv=tuple(declared_argv(step.cmd)),
        materials=outermost(_paths(graph, ins, EdgeKind.INPUT, 0)),
        products=outermost(_paths(graph, outs, EdgeKind.OUTPUT, 1)),
        source=str(step.source),
        locked=(*_locked(graph, ins, EdgeKind.INPUT, 0), *_locked(graph, outs, EdgeKind.OUTPUT, 1)),
        changes=tuple(i.message for i in graph.issues if i.code in CHANGED and i.subject == name),
    )


def _locked(
    graph: ProvenanceGraph, edges: Iterable[Edge], kind: EdgeKind, end: Literal[0, 1]
) -> list[tuple[str, str]]:
    """``(path, md5)`` of each artifact at end ``end`` whose lock entry records an md5."""
    return [
        (graph.g.nodes[edge[end]]["data"].path, edge[2]["digest"]["md5"])
        for edge in edges
        if edge[2]["kind"] is kind and "md5" in edge[2]["digest"]
    ]


def _paths(
    graph: ProvenanceGraph, edges: Iterable[Edge], kind: EdgeKind, end: Literal[0, 1]
) -> list[str]:
    """The artifact paths at end ``end`` (0: source, 1: target) of the edges of ``kind``."""
    return [graph.g.nodes[edge[end]]["data"].path for edge in edges if edge[2]["kind"] is kind]


def _known(graph: ProvenanceGraph) -> str:
    names = sorted(step.name for step in graph.steps())
    if not names:
        return " (no DVC pipeline found)"
    shown = ", ".join(f"`{n}`" for n in names[:MAX_LISTED])
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return f"; the stages are {shown}{more}"
