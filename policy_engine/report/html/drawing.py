"""The pipeline drawn as SVG: artifacts and steps in layers, top to bottom, as bytes flow.

Each layer is a row; rows alternate between artifacts and the steps that read
them, so the drawing reads data, steps, models, releases. Node colours and marks
come from ``graph.view`` (shared with DOT and Mermaid). The drawing is computed
here, not in the browser: the same graph gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy_engine.graph.layout import Placement, place
from policy_engine.graph.view import FAIL, FILL, OK, Marks, edge_status
from policy_engine.report.html.page import escape

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 190, 44, 18, 50, 14
DRAWN_KINDS = ("artifact", "step")
FLOW_EDGES = ("input", "output")
MAX_CHARS = 27


@dataclass(frozen=True)
class Drawing:
    """The SVG, and what it drew (for the page's data block)."""

    svg: str
    nodes: tuple[dict[str, Any], ...]
    edges: tuple[dict[str, Any], ...]


def palette_css() -> str:
    """The node fills of ``graph.view``, as CSS rules for the drawing."""
    return "".join(
        f"svg.graph .node.{kind} rect {{ fill: {fill}; }}\n" for kind, fill in FILL.items()
    )


def draw(document: Mapping[str, Any], marks: Marks, subtitles: Mapping[str, str]) -> Drawing:
    """Draw the artifacts and steps of an exported graph ``document``; ``subtitles`` gives each
    node's second line (its digest, who signed it)."""
    nodes = {n["id"]: n for n in document["nodes"]}
    drawn = [n for n in document["nodes"] if n["kind"] in DRAWN_KINDS]
    flow = [e for e in document["edges"] if e["kind"] in FLOW_EDGES]
    placement = place((n["id"] for n in drawn), ((e["source"], e["target"]) for e in flow))
    at, position = _coordinates(placement), placement.position()
    edges = tuple({**e, "status": edge_status(e, nodes)} for e in flow)
    rows = tuple(_node_row(n, marks, at[n["id"]], position[n["id"]]) for n in drawn)
    svg = _svg(drawn, edges, at, marks, subtitles)
    return Drawing(svg, rows, tuple(_edge_row(e) for e in edges))


def _svg(
    drawn: list[dict[str, Any]],
    edges: tuple[dict[str, Any], ...],
    at: Mapping[str, tuple[int, int]],
    marks: Marks,
    subtitles: Mapping[str, str],
) -> str:
    width = max((x for x, _ in at.values()), default=0) + NODE_W + MARGIN
    height = max((y for _, y in at.values()), default=0) + NODE_H + MARGIN
    return "".join(
        [
            f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="provenance graph: {len(drawn)} artifacts and steps">',
            '<g class="edges">',
            *(_edge(e, at) for e in edges),
            '</g><g class="nodes">',
            *(_node(n, at[n["id"]], marks, subtitles.get(n["id"], "")) for n in drawn),
            "</g></svg>",
        ]
    )


def _coordinates(placement: Placement) -> dict[str, tuple[int, int]]:
    widest = max((len(layer) for layer in placement.layers), default=0)
    full = widest * (NODE_W + GAP_X) - GAP_X
    at: dict[str, tuple[int, int]] = {}
    for row, layer in enumerate(placement.layers):
        left = MARGIN + (full - (len(layer) * (NODE_W + GAP_X) - GAP_X)) // 2
        for index, node in enumerate(layer):
            at[node] = (left + index * (NODE_W + GAP_X), MARGIN + row * (NODE_H + GAP_Y))
    return at


def _node_row(
    node: Mapping[str, Any], marks: Marks, at: tuple[int, int], position: tuple[int, int]
) -> dict[str, Any]:
    layer, index = position
    return {
        "id": node["id"],
        "kind": node["kind"],
        "status": marks.status(node["id"]),
        "layer": layer,
        "index": index,
        "x": at[0],
        "y": at[1],
    }


def _edge_row(edge: Mapping[str, Any]) -> dict[str, Any]:
    return {k: edge[k] for k in ("source", "target", "kind", "status")}


def _edge(edge: Mapping[str, Any], at: Mapping[str, tuple[int, int]]) -> str:
    (x1, y1), (x2, y2) = at[edge["source"]], at[edge["target"]]
    x1, x2 = x1 + NODE_W // 2, x2 + NODE_W // 2
    if y2 > y1:
        y1, bend = y1 + NODE_H, (y2 - y1 - NODE_H) // 2
    else:  # an edge set aside to break a cycle runs back up
        y2, bend = y2 + NODE_H, -GAP_Y
    path = f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"
    where = f" · recorded in {edge['recorded_in']}" if edge.get("recorded_in") else ""
    note = (
        " · the digest recorded is not the artifact's current one" if edge["status"] == FAIL else ""
    )
    return (
        f'<path class="edge {escape(edge["kind"])} {edge["status"]}" d="{path}" '
        f'data-source="{escape(edge["source"])}" data-target="{escape(edge["target"])}">'
        f"<title>{escape(edge['kind'] + where + note)}</title></path>"
    )


def _node(node: Mapping[str, Any], at: tuple[int, int], marks: Marks, subtitle: str) -> str:
    name = str(node.get("path") or node.get("name") or node["id"])
    status, (x, y) = marks.status(node["id"]), at
    radius = NODE_H // 2 if node["kind"] == "step" else 4
    return "".join(
        [
            f'<g class="node {node["kind"]} {status}" data-node="{escape(node["id"])}" '
            f'transform="translate({x},{y})" tabindex="0" role="button">',
            f"<title>{escape(_title(node, name, status, subtitle))}</title>",
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="{radius}"/>',
            f'<text x="{NODE_W // 2}" y="18">{escape(shorten(name))}</text>',
            f'<text class="sub" x="{NODE_W // 2}" y="34">{escape(shorten(subtitle))}</text>',
            _badge(status),
            "</g>",
        ]
    )


def _title(node: Mapping[str, Any], name: str, status: str, subtitle: str) -> str:
    words = {FAIL: "failing", OK: "", "waived": "waived findings only"}
    return " · ".join(p for p in (f"{node['kind']} {name}", subtitle, words[status]) if p)


def _badge(status: str) -> str:
    if status == OK:
        return ""
    mark = "✗" if status == FAIL else "~"
    return (
        f'<circle class="badge" cx="{NODE_W - 2}" cy="2" r="9"/>'
        f'<text class="badge-text" x="{NODE_W - 2}" y="6">{mark}</text>'
    )


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters in the middle: paths keep their file name."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]
