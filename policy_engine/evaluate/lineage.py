"""Lineage over the flow of bytes: which inputs are broken, and what derives from what.

An input edge (artifact -> step) is *valid* when what the consuming step
recorded for the artifact agrees with what its producer recorded (DVC lock
digests and in-toto link materials/products alike). Reachability is then one
multi-source traversal per source selection, over valid edges only; what
explains a failure (broken edges upstream, the first upstream artifacts) is
computed once for all artifacts, not searched per artifact.
"""

from __future__ import annotations

import heapq
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx

from policy_engine import globs
from policy_engine.evaluate.nodes import NodeIndex, index_nodes
from policy_engine.graph.bulk import adjacency
from policy_engine.graph.model import Attestation, EdgeKind, Evidence, NodeKind, ProvenanceGraph

_FIRST = 10  # how many upstream artifacts a failure shows


@dataclass(frozen=True)
class BrokenEdge:
    """A lineage edge that cannot be trusted, and why."""

    artifact: str
    step: str
    reason: str
    evidence: tuple[Evidence, ...]


def _digests(
    records: Iterable[tuple[dict[str, str], str]],
) -> dict[str, dict[str, list[str]]]:
    """{algorithm: {value: [sources]}} from (digest, source) records."""
    out: dict[str, dict[str, list[str]]] = {}
    for digest, source in records:
        for algorithm, value in digest.items():
            out.setdefault(algorithm, {}).setdefault(value, []).append(source)
    return out


def _downstream(
    succ: Mapping[str, Mapping[str, Any]],
    sources: Iterable[str],
    skip: Iterable[tuple[str, str]],
    paths: Mapping[str, str],
    inner: Container[str],
) -> frozenset[str]:
    """The ``paths`` of the nodes at the end of a path of at least one edge from
    ``sources``, over edges not in ``skip``: what networkx's breadth-first search over a
    restricted view of the graph finds, without the view's filtering of every edge
    (``tests/evaluate/test_lineage_passes``); the edges skipped are looked up by their
    source node, without a pair made per edge, and paths are taken as nodes are found.
    ``inner`` holds the artifacts some step reads (the only ones with successors); any
    other artifact ends every path through it: it is not queued, nor its successors
    looked up."""
    cut: dict[str, set[str]] = {}
    for u, v in skip:
        cut.setdefault(u, set()).add(v)
    seen: set[str] = set()
    found: list[str] = []
    path_of = paths.get
    layer = [s for s in sources if s in succ]
    while layer:
        following: list[str] = []
        for u in layer:
            blocked = cut.get(u, ())
            for v in succ[u]:
                if v in blocked:
                    continue
                path = path_of(v)
                if path is not None:
                    found.append(path)
                    if v not in inner:
                        continue
                if v not in seen:
                    seen.add(v)
                    following.append(v)
        layer = following
    return frozenset(found)


def _values(digests: Iterable[Mapping[str, str]]) -> dict[str, set[str]]:
    """{algorithm: values} from digests (what :func:`_digests` keys)."""
    out: dict[str, set[str]] = {}
    for digest in digests:
        for algorithm, value in digest.items():
            out.setdefault(algorithm, set()).add(value)
    return out


class Lineage:
    """Derived, read-only lineage facts of one graph; computed once per evaluation."""

    def __init__(self, graph: ProvenanceGraph) -> None:
        self.graph = graph
        self._reached: dict[tuple[frozenset[str], bool], frozenset[str]] = {}

    @property
    def full(self) -> nx.DiGraph[str]:
        """The flow of bytes: INPUT and OUTPUT edges over artifacts and steps."""
        return self.graph.flow

    @cached_property
    def index(self) -> NodeIndex:
        """The graph's nodes read in one pass (:func:`.nodes.index_nodes`)."""
        return index_nodes(self.graph)

    @property
    def nodes(self) -> dict[NodeKind, dict[str, Any]]:
        """{kind: {node id: its data}}, in graph order, for every question about the nodes
        of one kind (read-only)."""
        return self.index.by_kind

    @cached_property
    def links_by_step(self) -> dict[str, list[Attestation]]:
        index: dict[str, list[Attestation]] = {}
        for att in self.nodes[NodeKind.ATTESTATION].values():
            index.setdefault(att.step_name, []).append(att)
        return index

    @cached_property
    def _read(self) -> set[str]:
        """The nodes some step reads (every artifact with a successor in the flow: each flow
        edge has a step at one end)."""
        pred, read = self._flow[1], set[str]()
        for step in self.nodes[NodeKind.STEP]:
            read.update(pred.get(step, ()))
        return read

    @cached_property
    def _disputed(self) -> frozenset[str]:
        """The artifact nodes whose digests may disagree (:func:`.nodes.may_disagree`); every
        other has one value per algorithm among its claims, which are every digest its
        edges and links record (the graph's invariant)."""
        return frozenset(map(self.graph.artifact_id, self.index.suspects))

    @cached_property
    def _links_by_node(self) -> dict[str, list[Attestation]]:
        """:attr:`links_by_step` by step node id: a producer's links found without its name."""
        step_id = self.graph.step_id
        return {step_id(name): links for name, links in self.links_by_step.items()}

    def _recorded(
        self, artifact: str, step: str, side: EdgeKind
    ) -> list[tuple[dict[str, str], str]]:
        """What ``step`` (DVC and its links) recorded for ``artifact`` as input or output."""
        a, s = self.graph.artifact_id(artifact), self.graph.step_id(step)
        edge = self.full.get_edge_data(*((a, s) if side is EdgeKind.INPUT else (s, a)))
        records = [(edge["digest"], str(edge["source"]))] if edge else []
        for att in self.links_by_step.get(step, ()):
            table = att.materials if side is EdgeKind.INPUT else att.products
            if artifact in table:
                records.append((dict(table[artifact]), f"{att.file} (link `{step}`)"))
        return records

    def producers(self, artifact: str) -> list[str]:
        node = self.graph.artifact_id(artifact)
        return sorted(self.graph.g.nodes[u]["data"].name for u in self.full.predecessors(node))

    @cached_property
    def broken(self) -> dict[tuple[str, str], BrokenEdge]:
        """Every broken input and output edge, keyed by its (source, target) node ids.

        Every edge of the flow has a step at one end: the edges are visited step by
        step (its inputs, then its outputs), not node by node over every artifact.
        """
        found: dict[tuple[str, str], BrokenEdge] = {}
        succ, pred = self._flow
        paths = self.paths
        for node, step in self.nodes[NodeKind.STEP].items():
            for u, data in pred.get(node, {}).items():
                if not self._agrees(u, paths[u], step.name, data["digest"]):
                    problem = self._check_input(paths[u], step.name)
                    if problem is not None:
                        found[(u, node)] = problem
            for v, data in succ.get(node, {}).items():
                if not data["digest"]:  # else the producer recorded one (_check_output's test)
                    problem = self._check_output(paths[v], step.name)
                    if problem is not None:
                        found[(node, v)] = problem
        return found

    def _agrees(self, node: str, artifact: str, step: str, digest: Mapping[str, str]) -> bool:
        """Whether :meth:`_check_input` finds the input edge of ``artifact`` (``node``) into
        ``step`` valid, which recorded ``digest`` for it: the same digests compared, as
        (algorithm, value) pairs, without sources (``tests/evaluate/test_lineage_passes.py``)."""
        producers = self._flow[1][node]
        if producers and node not in self._disputed:
            recorded = (edge["digest"] for edge in producers.values())
            if any(not digest.keys().isdisjoint(made) for made in recorded):
                return True  # an algorithm both ends recorded, and one value per algorithm
        links = self.links_by_step
        if not producers:  # a declared source: valid unless nothing recorded a digest
            return bool(digest) or any(a.materials.get(artifact) for a in links.get(step, ()))
        consumed = set(digest.items())
        for att in links.get(step, ()):
            if artifact in att.materials:
                consumed.update(att.materials[artifact].items())
        if not consumed:
            return False  # no digest: broken
        produced = self._produced(artifact, producers)
        if consumed == produced:
            return True  # every algorithm in common, and every value agrees
        common = {a for a, _ in consumed} & {a for a, _ in produced}
        return bool(common) and {a for a, _ in consumed & produced} == common

    def _produced(
        self, artifact: str, producers: Mapping[str, Mapping[str, Any]]
    ) -> set[tuple[str, str]]:
        """Every (algorithm, value) the ``producers`` (node id: edge data) and their links
        recorded for ``artifact``."""
        produced: set[tuple[str, str]] = set()
        links = self._links_by_node
        for producer, edge in producers.items():
            produced.update(edge["digest"].items())
            for att in links.get(producer, ()):
                if artifact in att.products:
                    produced.update(att.products[artifact].items())
        return produced

    @cached_property
    def _flow(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The flow's successor and predecessor dicts (read-only)."""
        return adjacency(self.full)

    def _check_output(self, artifact: str, step: str) -> BrokenEdge | None:
        if any(d for d, _ in self._recorded(artifact, step, EdgeKind.OUTPUT)):
            return None
        return BrokenEdge(artifact, step, f"step `{step}` recorded no digest for `{artifact}`", ())

    def _check_input(self, artifact: str, step: str) -> BrokenEdge | None:
        records = self._recorded(artifact, step, EdgeKind.INPUT)
        consumed = _values(d for d, _ in records)
        if not consumed:
            return BrokenEdge(artifact, step, f"step `{step}` recorded no digest for its input", ())
        producers = self.producers(artifact)
        if not producers:
            return None  # a declared source: nothing upstream to contradict it
        made = [r for p in producers for r in self._recorded(artifact, p, EdgeKind.OUTPUT)]
        produced = _values(d for d, _ in made)
        common = sorted(consumed.keys() & produced.keys())
        if not common:
            return BrokenEdge(
                artifact, step, "producer and consumer recorded no digest in common", ()
            )
        for algorithm in common:
            if not consumed[algorithm] & produced[algorithm]:
                return self._contradiction(
                    artifact, step, producers, algorithm, _digests(records), _digests(made)
                )
        return None

    @staticmethod
    def _contradiction(
        artifact: str,
        step: str,
        producers: list[str],
        algorithm: str,
        consumed: dict[str, dict[str, list[str]]],
        produced: dict[str, dict[str, list[str]]],
    ) -> BrokenEdge:
        evidence = [
            Evidence(f"consumed by `{step}` ({algorithm})", value, source)
            for value, sources in sorted(consumed[algorithm].items())
            for source in sources
        ] + [
            Evidence(f"produced by `{', '.join(producers)}` ({algorithm})", value, source)
            for value, sources in sorted(produced[algorithm].items())
            for source in sources
        ]
        reason = (
            f"step `{step}` consumed `{artifact}` with bytes that "
            f"`{', '.join(producers)}` never produced"
        )
        return BrokenEdge(artifact, step, reason, tuple(evidence))

    def artifacts_matching(self, patterns: tuple[str, ...]) -> list[str]:
        return sorted(a.path for a in self.graph.artifacts() if globs.matches_any(patterns, a.path))

    def reached(self, sources: frozenset[str], *, valid_only: bool = True) -> frozenset[str]:
        """Artifact paths downstream of the ``sources`` node ids (one traversal, cached).

        Over valid edges only by default; over the whole flow of bytes otherwise.
        "Downstream" means at the end of a path of at least one edge, so a source is
        in the result only when a path leads to it (from another source, or a cycle).
        """
        key = (sources, valid_only)
        if key not in self._reached:
            successors = self._flow[0]  # plain dicts: no view per node visited
            skip = self.broken if valid_only else ()
            self._reached[key] = _downstream(successors, sources, skip, self.paths, self._read)
        return self._reached[key]

    @property
    def paths(self) -> dict[str, str]:
        """{node id: artifact path} of every artifact of the graph (read-only)."""
        return self.index.paths

    @cached_property
    def declared_sources(self) -> frozenset[str]:
        """Artifacts no step produces whose digest a ``.dvc`` file declares."""
        return frozenset(
            a.path
            for a in self.graph.artifacts()
            if not self.producers(a.path)
            and any(c.source.file.endswith(".dvc") for c in self.graph.claims(a.path))
        )

    def upstream_breaks(self, artifact: str) -> list[BrokenEdge]:
        """Broken edges anywhere upstream of ``artifact`` (for explaining a failure)."""
        edges = self._breaks_upstream.get(self.graph.artifact_id(artifact), ())
        return [self.broken[edge] for edge in sorted(edges)]

    @cached_property
    def _breaks_upstream(self) -> dict[str, list[tuple[str, str]]]:
        """{node: the broken edges both of whose ends are it or its ancestors}.

        Those are the nodes reached from the edge's target (the target itself
        included): one traversal per distinct target of a broken edge, not one
        per artifact asked about.
        """
        by_target: dict[str, list[tuple[str, str]]] = {}
        for edge in self.broken:
            by_target.setdefault(edge[1], []).append(edge)
        found: dict[str, list[tuple[str, str]]] = {}
        for target, edges in by_target.items():
            for node in nx.descendants(self.full, target) | {target}:
                found.setdefault(node, []).extend(edges)
        return found

    def first_upstream_artifacts(self, artifact: str, count: int = 10) -> list[str]:
        """The first ``count`` of :meth:`upstream_artifacts` (sorted), from one pass for all."""
        first = self._first_upstream
        if first is None or count > _FIRST:
            return self.upstream_artifacts(artifact)[:count]
        return list(first.get(self.graph.artifact_id(artifact), ()))[:count]

    @cached_property
    def _first_upstream(self) -> dict[str, tuple[str, ...]] | None:
        """{node: its first ancestor artifact paths, sorted}, in one topological pass.

        The first paths among a node's ancestors are among its predecessors' own
        paths and their first ones. None when the flow has a cycle.
        """
        try:
            order = list(nx.topological_sort(self.full))
        except nx.NetworkXUnfeasible:
            return None
        nodes = self.graph.g.nodes
        first: dict[str, tuple[str, ...]] = {}
        for node in order:
            candidates: set[str] = set()
            for parent in self.full.predecessors(node):
                candidates.update(first[parent])
                if nodes[parent]["kind"] is NodeKind.ARTIFACT:
                    candidates.add(nodes[parent]["data"].path)
            first[node] = tuple(heapq.nsmallest(_FIRST, candidates))
        return first

    def upstream_artifacts(self, artifact: str) -> list[str]:
        node = self.graph.artifact_id(artifact)
        return sorted(
            self.graph.g.nodes[n]["data"].path
            for n in nx.ancestors(self.full, node)
            if self.graph.g.nodes[n]["kind"] is NodeKind.ARTIFACT
        )
