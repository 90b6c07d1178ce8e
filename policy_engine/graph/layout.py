"""A layered drawing of a directed graph: which layer each node is in, and its place there.

The drawing reads as a pipeline: every edge points to a later layer where it can
(data, then the step that reads it, then what the step writes). Layers come from
the longest path from the sources, with each source moved next to its first
reader; edges that would close a cycle are set aside first. Within a layer, nodes
are ordered by the mean place of their neighbours (a few sweeps down and up),
ties by id, so the same graph always gives the same drawing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SWEEPS = 4


@dataclass(frozen=True)
class Placement:
    """Each node's layer and its index in that layer; ``layers`` lists them in order."""

    layers: tuple[tuple[str, ...], ...]

    def position(self) -> dict[str, tuple[int, int]]:
        """``node -> (layer, index)``."""
        return {n: (i, j) for i, layer in enumerate(self.layers) for j, n in enumerate(layer)}


def place(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> Placement:
    """The layered placement of ``nodes``; ``edges`` between unknown nodes are ignored."""
    order = sorted(set(nodes))
    known = set(order)
    pairs = sorted({(u, v) for u, v in edges if u in known and v in known and u != v})
    forward = _acyclic(order, pairs)
    layer = _pull_sources(_longest_path(order, forward), forward)
    return Placement(_ordered(_group(layer), forward))


def _successors(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u, v in pairs:
        out.setdefault(u, []).append(v)
    return out


def _acyclic(order: Sequence[str], pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges that close no cycle, found by a depth-first walk in id order."""
    succ, state, back = _successors(pairs), dict.fromkeys(order, 0), set()
    for root in order:
        if state[root]:
            continue
        state[root], stack = 1, [(root, iter(succ.get(root, ())))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                back.add((node, child))
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(succ.get(child, ()))))
    return [p for p in pairs if p not in back]


def _longest_path(order: Sequence[str], pairs: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: the length of the longest path reaching it (Kahn's order)."""
    succ = _successors(pairs)
    indegree = dict.fromkeys(order, 0)
    for _, v in pairs:
        indegree[v] += 1
    layer = dict.fromkeys(order, 0)
    ready = [n for n in order if not indegree[n]]
    while ready:
        node = ready.pop()
        for child in succ.get(node, ()):
            layer[child] = max(layer[child], layer[node] + 1)
            indegree[child] -= 1
            if not indegree[child]:
                ready.append(child)
    return layer


def _pull_sources(layer: dict[str, int], pairs: Sequence[tuple[str, str]]) -> dict[str, int]:
    """A node nothing points to sits just before the first node that reads it."""
    has_pred = {v for _, v in pairs}
    moved = dict(layer)
    for node, children in _successors(pairs).items():
        if node not in has_pred:
            moved[node] = min(layer[c] for c in children) - 1
    return moved


def _group(layer: Mapping[str, int]) -> list[list[str]]:
    groups: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in sorted(layer):
        groups[layer[node]].append(node)
    return groups


def _ordered(
    groups: list[list[str]], pairs: Sequence[tuple[str, str]]
) -> tuple[tuple[str, ...], ...]:
    preds: dict[str, list[str]] = {}
    for u, v in pairs:
        preds.setdefault(v, []).append(u)
    succ = _successors(pairs)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(groups)) if down else range(len(groups) - 2, -1, -1)
        for i in indices:
            neighbours = preds if down else succ
            groups[i] = _by_barycentre(
                groups[i], neighbours, _index(groups[i - 1 if down else i + 1])
            )
    return tuple(tuple(g) for g in groups)


def _index(group: Sequence[str]) -> dict[str, int]:
    return {node: i for i, node in enumerate(group)}


def _by_barycentre(
    group: list[str], neighbours: Mapping[str, list[str]], places: Mapping[str, int]
) -> list[str]:
    """``group`` sorted by the mean place of each node's neighbours in the adjacent layer;
    a node with none there keeps its place."""

    def key(item: tuple[int, str]) -> tuple[float, int, str]:
        here, node = item
        seen = [places[n] for n in neighbours.get(node, ()) if n in places]
        return (sum(seen) / len(seen) if seen else float(here), here, node)

    return [node for _, node in sorted(enumerate(group), key=key)]
