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

from policy_engine.graph.bulk import (
    add_edges,
    add_node_dict,
    add_nodes,
    add_simple_edges,
    add_stars,
    adjacency,
)

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


STAR = st.tuples(
    NAMES,
    st.dictionaries(
        NAMES, st.dictionaries(st.sampled_from(["material", "signed"]), ATTRS, min_size=1)
    ),
    st.dictionaries(
        NAMES, st.dictionaries(st.sampled_from(["product", "attests"]), ATTRS, min_size=1)
    ),
)


@settings(max_examples=300, deadline=None)
@given(before_edges=st.lists(EDGES, max_size=4), stars=st.lists(STAR, max_size=4))
def test_stars_are_the_edges_networkx_adds(
    before_edges: list[tuple[str, str, str, dict[str, int]]],
    stars: list[tuple[str, dict[str, dict[str, dict[str, int]]], dict[str, Any]]],
) -> None:
    """A node with no edge yet takes its star whole; one with edges (earlier ones, an
    earlier star's, its own loop) has them added one at a time: the same graph."""
    reference: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    bulk: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    ends = [n for node, into, out in stars for n in (node, *into, *out)]
    for g in (reference, bulk):
        for u, v, key, data in before_edges:
            g.add_edge(u, v, key=key, **data)
        g.add_nodes_from(ends)
    for node, into, out in stars:
        for u, keys in into.items():
            for key, data in keys.items():
                reference.add_edge(u, node, key=key, **data)
        for v, keys in out.items():
            for key, data in keys.items():
                reference.add_edge(node, v, key=key, **data)
    add_stars(bulk, [(node, _copied(into), _copied(out)) for node, into, out in stars])
    assert _snapshot(bulk) == _snapshot(reference)
    assert _shared_key_dicts(bulk)


def _copied(ends: dict[str, dict[str, dict[str, int]]]) -> dict[str, dict[str, dict[str, int]]]:
    return {end: {key: dict(data) for key, data in keys.items()} for end, keys in ends.items()}


def test_a_new_node_keeps_its_star() -> None:
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    g.add_nodes_from(["n", "u", "v"])
    into, out = {"u": {"material": {"kind": 1}}}, {"v": {"product": {"kind": 2}}}
    add_stars(g, [("n", into, out)])
    succ, pred = adjacency(g)
    assert pred["n"] is into and succ["n"] is out and succ["u"]["n"] is into["u"]
    assert list(g.edges(keys=True, data=True)) == [
        ("n", "v", "product", {"kind": 2}),
        ("u", "n", "material", {"kind": 1}),
    ]


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


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(st.tuples(NAMES, ATTRS), max_size=4),
    before_edges=st.lists(EDGES, max_size=4),
    nodes=st.dictionaries(NAMES, ATTRS, max_size=6),
    multi=st.booleans(),
)
def test_node_dict_same_graph_as_networkx(
    before: list[tuple[str, dict[str, int]]],
    before_edges: list[tuple[str, str, str, dict[str, int]]],
    nodes: dict[str, dict[str, int]],
    multi: bool,
) -> None:
    """New nodes only (one update of each dict) or some known (one at a time): the same."""
    kind = nx.MultiDiGraph if multi else nx.DiGraph
    reference: nx.DiGraph[str] = kind()
    bulk: nx.DiGraph[str] = kind()
    for g in (reference, bulk):
        g.add_nodes_from(before)
        for u, v, _, data in before_edges:
            g.add_edge(u, v, **data)
    reference.add_nodes_from(nodes.items())
    given, old = {node: dict(attrs) for node, attrs in nodes.items()}, set(bulk)
    add_node_dict(bulk, given)
    assert _snapshot(bulk) == _snapshot(reference)
    assert all(bulk.nodes[node] is attrs for node, attrs in given.items() if node not in old)
    assert all(bulk.succ[n] is not bulk.pred[n] for n in bulk)  # a dict of its own each
