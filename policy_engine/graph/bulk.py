"""Adding many nodes and edges to a networkx ``(Multi)DiGraph`` at once, as its own calls add them.

``add_nodes_from`` given ``(node, attributes)`` pairs tries each pair as a node
first (a ``TypeError`` per pair), and a multigraph's ``add_edges_from`` calls
``add_edge`` per edge, which checks both ends and copies the attributes twice.
Here new nodes and edges between nodes without an edge yet are written into the
graph's dicts as those calls write them (``_node``, ``_succ``, ``_pred``, with
the plain dicts a ``MultiDiGraph``'s factories make; an edge's key dict shared
by ``_succ`` and ``_pred``; a ``DiGraph``'s attribute dict likewise), and anything
else goes through networkx's own call (or, for a ``DiGraph``, its own update).
``tests/graph/test_bulk_graph.py`` checks the graphs are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx


def add_nodes(
    g: nx.DiGraph[str], nodes: Iterable[tuple[str, dict[str, Any]]], *, given: bool = False
) -> None:
    """``g.add_nodes_from(nodes)`` (a ``DiGraph`` or ``MultiDiGraph``); a new node keeps a
    copy of its attribute dict, or with ``given`` the dict itself (the caller's no more)."""
    known, succ, pred = _dicts(g)
    for node, attrs in nodes:
        if node in known:
            known[node].update(attrs)
        else:
            succ[node], pred[node], known[node] = {}, {}, attrs if given else dict(attrs)
    _clear_cache(g)


def add_node_dict(g: nx.DiGraph[str], nodes: dict[str, dict[str, Any]]) -> None:
    """``add_nodes(g, nodes.items(), given=True)``; when no node of ``nodes`` is in ``g``
    yet (a new pipeline's), by one update of each of the graph's dicts, in that order."""
    known, succ, pred = _dicts(g)
    if not known.keys().isdisjoint(nodes):
        add_nodes(g, nodes.items(), given=True)
        return
    known.update(nodes)
    succ.update(zip(nodes, iter(dict, None), strict=False))  # a new {} for each node
    pred.update(zip(nodes, iter(dict, None), strict=False))
    _clear_cache(g)


def add_edges(
    g: nx.MultiDiGraph[str], edges: Iterable[tuple[str, str, str, dict[str, Any]]]
) -> None:
    """``g.add_edge(u, v, key=key, **data)`` for each edge, in order; ``u`` and ``v`` exist.

    ``data`` becomes the edge's attribute dict itself (``add_edge`` copies it).
    """
    _, succ, pred = _dicts(g)
    for u, v, key, data in edges:
        out = succ[u]
        if v in out:
            g.add_edge(u, v, key=key, **data)
        else:
            out[v] = pred[v][u] = {key: data}
    _clear_cache(g)


def add_stars(
    g: nx.MultiDiGraph[str],
    stars: Iterable[tuple[str, dict[str, dict[str, Any]], dict[str, dict[str, Any]]]],
) -> None:
    """Each star's edges, in order: ``(node, into, out)``, where ``into`` maps each
    predecessor ``u`` of ``node`` to its ``{key: data}`` and ``out`` each successor ``v``
    likewise (one key at least): ``g.add_edge(u, node, key=key, **data)`` for each of
    ``into``, then ``g.add_edge(node, v, ...)`` for each of ``out``; ``node`` and the ends
    exist.

    A node with no edge yet takes ``into`` and ``out`` themselves as its adjacency (the
    ``{key: data}`` dicts shared with the other ends, the data dicts not copied: the
    caller's no more); a node with edges already has them added one at a time.
    """
    _, succ, pred = _dicts(g)
    for node, into, out in stars:
        if succ[node] or pred[node] or node in into or node in out:
            add_edges(g, [(u, node, k, d) for u, keys in into.items() for k, d in keys.items()])
            add_edges(g, [(node, v, k, d) for v, keys in out.items() for k, d in keys.items()])
            continue
        pred[node], succ[node] = into, out
        for u, keys in into.items():
            succ[u][node] = keys
        for v, keys in out.items():
            pred[v][node] = keys
    _clear_cache(g)


def add_simple_edges(g: nx.DiGraph[str], edges: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
    """``g.add_edge(u, v, **data)`` for each edge of a ``DiGraph``, in order; ``u`` and ``v`` exist.

    ``data`` becomes a new edge's attribute dict itself (``add_edge`` copies it);
    an edge already there has its dict updated, as ``add_edge`` does.
    """
    if g.is_multigraph():
        raise TypeError("add_simple_edges adds the edges of a DiGraph; a multigraph's: add_edges")
    _, succ, pred = _dicts(g)
    for u, v, data in edges:
        out = succ[u]
        if v in out:
            out[v].update(data)
        else:
            out[v] = pred[v][u] = data
    _clear_cache(g)


def node_attributes(g: nx.DiGraph[str]) -> dict[str, dict[str, Any]]:
    """The graph's own dict of node -> attributes (what ``g.nodes[n]`` reads)."""
    return _dicts(g)[0]


def adjacency(g: nx.DiGraph[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The graph's own successor and predecessor dicts (what ``g.succ[n]`` and ``g.pred[n]``
    read), without a view made per node looked at: read them, never change them."""
    _, succ, pred = _dicts(g)
    return succ, pred


_FACTORIES = (
    "node_attr_dict_factory",
    "adjlist_outer_dict_factory",
    "adjlist_inner_dict_factory",
    "edge_key_dict_factory",  # a multigraph's
    "edge_attr_dict_factory",
)


def _dicts(g: nx.DiGraph[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The graph's ``_node``, ``_succ`` and ``_pred``; refused unless its dicts are plain."""
    if any(getattr(g, name, dict) is not dict for name in _FACTORIES):
        raise TypeError(f"bulk insertion needs plain dicts, not the factories of {type(g)}")
    internals = vars(g)
    return internals["_node"], internals["_succ"], internals["_pred"]


def _clear_cache(g: nx.DiGraph[str]) -> None:
    """What every networkx mutation does last: forget graphs converted from this one."""
    cache = getattr(g, "__networkx_cache__", None)
    if cache:
        cache.clear()
