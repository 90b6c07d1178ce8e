"""Steps with their INPUT and OUTPUT edges, collected and then added to the graph at once.

A pipeline file of 10,000 stages adds a step and a dozen edges per stage; each
``add_input``/``add_output`` call is two networkx ``add_edge`` calls (the
multigraph and the flow graph) and a lookup of the artifact's attributes. A
:class:`FlowInsertion` takes the same calls (``add_step``, ``add_input``,
``add_output``, ``add_declaration``, with the graph's signatures), keeps the new
nodes and edges in order, and writes them with :mod:`policy_engine.graph.bulk`
when applied. Claims, declarations and ``duplicate-step`` issues are recorded
as the calls come, as the graph's own methods record them, so the graph is the
one those methods make one call at a time (``tests/graph/test_flow_insertion.py``).
Until it is applied, nothing else may add to the graph.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from policy_engine.graph.bulk import add_edges, add_node_dict, add_simple_edges, node_attributes
from policy_engine.graph.model import (
    Declaration,
    EdgeKind,
    NodeKind,
    ProvenanceGraph,
    SourceRef,
    Step,
    artifact_attributes,
    digest_claims,
    duplicate_step,
)

_INPUT, _OUTPUT = EdgeKind.INPUT, EdgeKind.OUTPUT
_KEYS = {_INPUT: _INPUT.value, _OUTPUT: _OUTPUT.value}  # an enum's ``value`` is a lookup each time


class Flows(Protocol):
    """Where steps, their edges and declarations go: the graph, or a :class:`FlowInsertion`."""

    def add_step(self, step: Step) -> str: ...
    def add_input(
        self, path: str, step: str, digest: Mapping[str, str], source: SourceRef
    ) -> None: ...
    def add_output(
        self, step: str, path: str, digest: Mapping[str, str], source: SourceRef
    ) -> None: ...
    def add_declaration(self, path: str, declaration: Declaration) -> None: ...


class FlowInsertion:
    """What ``add_step``, ``add_input``, ``add_output`` and ``add_declaration`` would add,
    gathered in order; :meth:`apply` adds it."""

    def __init__(self, graph: ProvenanceGraph) -> None:
        self.graph = graph
        self.known = node_attributes(graph.g)  # the nodes already in the graph
        self.nodes: dict[str, dict[str, Any]] = {}  # new nodes, in the order they came
        self.edges: list[tuple[str, str, str, dict[str, Any]]] = []  # the multigraph's
        self.flows: list[tuple[str, str, dict[str, Any]]] = []  # the flow graph's
        self._last_step: tuple[str | None, str] = (None, "")  # a step and its node, made an end

    def add_step(self, step: Step) -> str:
        """:meth:`ProvenanceGraph.add_step`: a step defined twice is a ``duplicate-step`` issue."""
        node = ProvenanceGraph.step_id(step.name)
        if node in self.known or node in self.nodes:
            self.graph.issues.append(duplicate_step(step))
        else:
            self.nodes[node] = {"kind": NodeKind.STEP, "data": step}
        return node

    def add_input(self, path: str, step: str, digest: Mapping[str, str], source: SourceRef) -> None:
        """:meth:`ProvenanceGraph.add_input`."""
        artifact, attrs = self._artifact(path)
        self._edge(artifact, self._step_end(step), _INPUT, digest, source)
        attrs["claims"] += digest_claims(digest, source)

    def add_output(
        self, step: str, path: str, digest: Mapping[str, str], source: SourceRef
    ) -> None:
        """:meth:`ProvenanceGraph.add_output`."""
        artifact, attrs = self._artifact(path)
        self._edge(self._step_end(step), artifact, _OUTPUT, digest, source)
        attrs["claims"] += digest_claims(digest, source)

    def add_declaration(self, path: str, declaration: Declaration) -> None:
        """:meth:`ProvenanceGraph.add_declaration`."""
        _, attrs = self._artifact(path)
        attrs.setdefault("declarations", []).append(declaration)

    def apply(self) -> None:
        """The new nodes (in both graphs), then the edges, in the order they came."""
        g, flow = self.graph.g, self.graph.flow
        add_node_dict(g, self.nodes)  # dicts made here, used nowhere else
        empty: Iterator[dict[str, Any]] = iter(dict, None)  # a new {} for each node
        add_node_dict(flow, dict(zip(self.nodes, empty, strict=False)))
        add_edges(g, self.edges)
        add_simple_edges(flow, self.flows)
        self.nodes, self.edges, self.flows = {}, [], []
        self.known = node_attributes(g)

    def _artifact(self, path: str) -> tuple[str, dict[str, Any]]:
        """The artifact's node and attributes, a new node's when it is not in the graph yet."""
        node = ProvenanceGraph.artifact_id(path)
        attrs = self.known.get(node)
        if attrs is None:
            attrs = self.nodes.get(node)
            if attrs is None:
                attrs = self.nodes[node] = artifact_attributes(path)
        return node, attrs

    def _step_end(self, step: str) -> str:
        """:meth:`_end` of ``step``'s node; a stage's edges come together, so the last is kept."""
        if self._last_step[0] != step:
            self._last_step = (step, self._end(ProvenanceGraph.step_id(step)))
        return self._last_step[1]

    def _end(self, node: str) -> str:
        """An edge's end that no call added: networkx's ``add_edge`` adds it bare."""
        if node not in self.known and node not in self.nodes:
            self.nodes[node] = {}
        return node

    def _edge(
        self, u: str, v: str, kind: EdgeKind, digest: Mapping[str, str], source: SourceRef
    ) -> None:
        data = {"kind": kind, "digest": dict(digest), "source": source}
        self.edges.append((u, v, _KEYS[kind], data))
        self.flows.append((u, v, dict(data)))
