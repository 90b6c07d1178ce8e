"""Bulk insertion (``graph/bulk.py``) makes the graph networkx's own calls make.

Nodes new and known, edges between pairs with and without edges, repeated keys,
self loops: the nodes, their attributes, the adjacency in both directions (and
its order), edge keys and data must equal those of ``add_nodes_from`` and
``add_edge`` called one edge at a time.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.graph.bulk import add_edges, add_nodes, add_simple_edges, adjacency

NAMES = st.sampled_from(["a", "b", "c", "d", "é", "a b", ""])
ATTRS = st.dictionaries(st.sampled_from(["kind", "data", "claims"]), st.integers(0, 3), max_size=2)
EDGES = st.tuples(NAMES, NAMES, st.sampled_from(["input", "output", "signed"]), ATTRS)


def _snapshot(g: nx.DiGraph[str]) -> tuple[Any, ...]:
    nodes = [(n, dict(attrs)) for n, attrs in g.nodes(data=True)]
    edges = list(g.edges(keys=True, data=True) if g.is_multigraph() else g.edges(data=True))  # type: ignore[call-overload]
    preds = {n: list(g.pred[n]) for n in g}
    succs = {n: list(g.succ[n]) for n in g}
    return nodes, edges, preds, succs


def _shared_key_dicts(g: nx.MultiDiGraph[str]) -> bool:
    succ, pred = vars(g)["_succ"], vars(g)["_pred"]
    return all(succ[u][v] is pred[v][u] for u in succ for v in succ[u])


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(st.tuples(NAMES, ATTRS), max_size=4),
    before_edges=st.lists(EDGES, max_size=4),
    nodes=st.lists(st.tuples(NAMES, ATTRS), max_size=6),
    edges=st.lists(EDGES, max_size=10),
)
def test_same_graph_as_networkx(
    before: list[tuple[str, dict[str, int]]],
    before_edges: list[tuple[str, str, str, dict[str, int]]],
    nodes: list[tuple[str, dict[str, int]]],
    edges: list[tuple[str, str, str, dict[str, int]]],
) -> None:
    reference: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    bulk: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for g in (reference, bulk):
        g.add_nodes_from(before)
        for u, v, key, data in before_edges:
            g.add_edge(u, v, key=key, **data)
    ends = [(end, dict[str, int]()) for u, v, _, _ in edges for end in (u, v)]
    reference.add_nodes_from(nodes + ends)
    for u, v, key, data in edges:
        reference.add_edge(u, v, key=key, **data)
    add_nodes(bulk, nodes + ends)
    add_edges(bulk, [(u, v, key, dict(data)) for u, v, key, data in edges])
    assert _snapshot(bulk) == _snapshot(reference)
    assert _shared_key_dicts(bulk)


@settings(max_examples=200, deadline=None)
@given(before_edges=st.lists(EDGES, max_size=4), edges=st.lists(EDGES, max_size=10))
def test_same_digraph_as_networkx(
    before_edges: list[tuple[str, str, str, dict[str, int]]],
    edges: list[tuple[str, str, str, dict[str, int]]],
) -> None:
    reference: nx.DiGraph[str] = nx.DiGraph()
    bulk: nx.DiGraph[str] = nx.DiGraph()
    for g in (reference, bulk):
        for u, v, _, data in before_edges:
            g.add_edge(u, v, **data)
        g.add_nodes_from(end for u, v, _, _ in edges for end in (u, v))
    for u, v, _, data in edges:  # an edge again updates its data
        reference.add_edge(u, v, **data)
    add_simple_edges(bulk, [(u, v, dict(data)) for u, v, _, data in edges])
    assert _snapshot(bulk) == _snapshot(reference)
    succ, pred = vars(bulk)["_succ"], vars(bulk)["_pred"]
    assert all(succ[u][v] is pred[v][u] for u in succ for v in succ[u])


def test_a_multigraph_is_refused_simple_edges() -> None:
    with pytest.raises(TypeError, match="multigraph"):
        add_simple_edges(nx.MultiDiGraph(), [])


def test_nodes_of_a_digraph() -> None:
    reference: nx.DiGraph[str] = nx.DiGraph()
    bulk: nx.DiGraph[str] = nx.DiGraph()
    for g in (reference, bulk):
        g.add_edge("x", "y")
    reference.add_nodes_from(["y", "z", "a"])
    add_nodes(bulk, [("y", {}), ("z", {}), ("a", {})])
    assert _snapshot(bulk) == _snapshot(reference)


def test_new_node_attributes_are_a_copy() -> None:
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    attrs: dict[str, Any] = {"claims": []}
    add_nodes(g, [("n", attrs)])
    attrs["late"] = 1
    assert g.nodes["n"] == {"claims": []}
    assert g.nodes["n"]["claims"] is attrs["claims"]  # a shallow copy, as networkx makes


def test_given_node_attributes_are_kept() -> None:
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    attrs: dict[str, Any] = {"claims": []}
    add_nodes(g, [("n", attrs), ("n", {"late": 1})], given=True)  # a known node: updated
    assert g.nodes["n"] is attrs and attrs == {"claims": [], "late": 1}


def test_converted_graph_cache_is_cleared() -> None:
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    g.__networkx_cache__["backend"] = {"stale": True}
    add_nodes(g, [("a", {}), ("b", {})])
    g.__networkx_cache__["backend"] = {"stale": True}
    add_edges(g, [("a", "b", "k", {})])
    assert not g.__networkx_cache__


class _Ordered(nx.MultiDiGraph):  # type: ignore[type-arg]
    edge_attr_dict_factory = dict
    node_attr_dict_factory = type("Attrs", (dict,), {})


def test_other_factories_are_refused() -> None:
    with pytest.raises(TypeError, match="plain dicts"):
        add_nodes(_Ordered(), [("a", {})])


@settings(max_examples=100, deadline=None)
@given(edges=st.lists(EDGES, max_size=12))
def test_adjacency_is_what_the_views_read(
    edges: list[tuple[str, str, str, dict[str, Any]]],
) -> None:
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for u, v, key, data in edges:
        g.add_edge(u, v, key=key, **data)
    succ, pred = adjacency(g)
    assert list(succ) == list(g.succ) and list(pred) == list(g.pred)
    for n in g:
        assert succ[n] == dict(g.succ[n]) and list(succ[n]) == list(g.succ[n])
        assert pred[n] == dict(g.pred[n]) and list(pred[n]) == list(g.pred[n])
    flow: nx.DiGraph[str] = nx.DiGraph(g)
    assert adjacency(flow)[0] == {n: dict(flow.succ[n]) for n in flow}
