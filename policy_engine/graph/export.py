"""Exporting the provenance graph: JSON, Graphviz DOT or Mermaid (HTML: ``report.html``).

Every format is deterministic: nodes sorted by id, edges by (source, target,
kind), no timestamps of the export itself, so the same inputs give the same
bytes. Each says which keys were trusted (``trust``): built without a policy,
no key is trusted and every signature is UNTRUSTED.

Nodes carry their kind and key facts (an artifact's workspace digests and the
digests sources claim; a step's definition; an attestation's kind, envelope,
predicate type, time and signatures; a principal's key id); edges carry their
kind, the digests recorded and where. Layouts, issues and notes follow.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from policy_engine.graph.model import (
    Artifact,
    Attestation,
    Layout,
    NodeKind,
    Principal,
    ProvenanceGraph,
    Step,
)
from policy_engine.graph.view import BORDER, EDGE, FAIL, FILL, OK, WAIVED, Marks, edge_status, label

FORMATS = ("json", "dot", "mermaid", "html")
NO_MARKS = Marks()


def document(graph: ProvenanceGraph, trust: Mapping[str, Any]) -> dict[str, Any]:
    """The graph as plain, sorted data; ``trust`` says which keys were trusted."""
    nodes = [_node(graph, node) for node in sorted(graph.g.nodes)]
    edges = sorted(
        (
            {
                "source": u,
                "target": v,
                "kind": d["kind"].value,
                "digest": dict(sorted(d.get("digest", {}).items())),
                "recorded_in": str(d["source"]) if d.get("source") is not None else None,
            }
            for u, v, d in graph.g.edges(data=True)
        ),
        key=lambda e: (e["source"], e["target"], e["kind"], json.dumps(e["digest"])),
    )
    return {
        "trust": dict(trust),
        "nodes": nodes,
        "edges": edges,
        "layouts": [_layout(x) for x in sorted(graph.layouts, key=lambda x: x.file)],
        "issues": sorted(
            ({"code": i.code, "subject": i.subject, "message": i.message} for i in graph.issues),
            key=lambda i: (i["code"], i["subject"], i["message"]),
        ),
        "notes": sorted(graph.notes),
    }


def _node(graph: ProvenanceGraph, node: str) -> dict[str, Any]:
    attrs = graph.g.nodes[node]
    kind, data = attrs["kind"], attrs["data"]
    facts: dict[str, Any] = {"id": node, "kind": kind.value}
    if kind is NodeKind.ARTIFACT:
        facts |= _artifact(graph, data)
    elif kind is NodeKind.STEP:
        facts |= _step(data)
    elif kind is NodeKind.ATTESTATION:
        facts |= _attestation(data)
    elif isinstance(data, Principal):
        facts |= {"keyid": data.keyid, "name": data.name}
    elif dataclasses.is_dataclass(data) and not isinstance(data, type):
        facts |= json.loads(json.dumps(dataclasses.asdict(data), default=str))  # MLflow records
    return facts


def _artifact(graph: ProvenanceGraph, artifact: Artifact) -> dict[str, Any]:
    current = graph.workspace(artifact.path)
    claims = sorted({(c.algorithm, c.value, str(c.source)) for c in graph.claims(artifact.path)})
    return {
        "path": artifact.path,
        "workspace": None
        if current is None
        else {"sha256": current.sha256, "md5": current.md5, "size": current.size},
        "claims": [{"algorithm": a, "value": v, "source": s} for a, v, s in claims],
    }


def _step(step: Step) -> dict[str, Any]:
    return {
        "name": step.name,
        "defined_in": str(step.source),
        "cmd": list(step.cmd),
        "desc": step.desc,
        "meta": dict(step.meta),
        "frozen": step.frozen,
        "recorded": step.recorded,
    }


def _attestation(att: Attestation) -> dict[str, Any]:
    return {
        "file": att.file,
        "attestation_kind": att.kind,
        "envelope": att.envelope,
        "step_name": att.step_name,
        "predicate_type": att.predicate_type,
        "issued_at": att.issued_at.isoformat() if att.issued_at else None,
        "signatures": [
            {"keyid": s.keyid, "status": s.status.value, "reason": s.reason} for s in att.signatures
        ],
        "signers": sorted(att.signers),
    }


def _layout(layout: Layout) -> dict[str, Any]:
    return {
        "file": layout.file,
        "envelope": layout.envelope,
        "signers": sorted(layout.signers),
        "signatures": [{"keyid": s.keyid, "status": s.status.value} for s in layout.signatures],
        "expires": layout.expires.isoformat() if layout.expires else None,
        "as_step": layout.as_step,
        "trusted": layout.trusted,
        "keys": {
            k: {"keytype": v.keytype, "computed": v.computed, "problem": v.problem}
            for k, v in sorted(layout.keys.items())
        },
        "steps": [
            {
                "name": s.name,
                "threshold": s.threshold,
                "pubkeys": list(s.pubkeys),
                "expected_command": list(s.expected_command),
                "links": list(s.links),
                "signers": sorted(s.signers),
                "satisfied": s.satisfied,
            }
            for s in layout.steps
        ],
        "inspections": [{"name": i.name, "run": list(i.run)} for i in layout.inspections],
    }


# -- renderings ------------------------------------------------------------------------
def to_json(graph: ProvenanceGraph, trust: Mapping[str, Any], marks: Marks = NO_MARKS) -> str:
    """The graph's document as JSON; ``marks`` are for drawings and change nothing here."""
    return json.dumps(document(graph, trust), indent=2, sort_keys=True, default=str) + "\n"


_DOT_SHAPES = {
    "artifact": "box",
    "step": "ellipse",
    "attestation": "note",
    "principal": "diamond",
    "run": "hexagon",
    "logged-model": "component",
    "model-version": "folder",
}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(graph: ProvenanceGraph, trust: Mapping[str, Any], marks: Marks = NO_MARKS) -> str:
    """Graphviz DOT: nodes filled by kind, bordered red when failing; red edges disagree."""
    data = document(graph, trust)
    nodes = {node["id"]: node for node in data["nodes"]}
    lines = [f"// {trust['summary']}", "digraph provenance {", "  rankdir=LR;"]
    for node in data["nodes"]:
        lines.append(f'  "{_dot_text(node["id"])}" [{_dot_node(node, marks)}];')
    for edge in data["edges"]:
        source, target = _dot_text(edge["source"]), _dot_text(edge["target"])
        colour = EDGE[edge_status(edge, nodes)]
        lines.append(f'  "{source}" -> "{target}" [label="{edge["kind"]}", color="{colour}"];')
    return "\n".join([*lines, "}"]) + "\n"


def _dot_node(node: Mapping[str, Any], marks: Marks) -> str:
    status = marks.status(node["id"])
    width = "1" if status == OK else "3"
    return (
        f'shape={_DOT_SHAPES[node["kind"]]}, style=filled, fillcolor="{FILL[node["kind"]]}", '
        f'color="{BORDER[status]}", penwidth={width}, label="{_dot_text(label(node, marks))}"'
    )


_MERMAID_SHAPES = {
    "artifact": ('["', '"]'),
    "step": ('(["', '"])'),
    "attestation": ('{{"', '"}}'),
    "principal": ('(("', '"))'),
    "run": ('[("', '")]'),
    "logged-model": ('[["', '"]]'),
    "model-version": ('[/"', '"/]'),
}


def _mermaid_text(text: str) -> str:
    escaped = text.replace("#", "#35;").replace('"', "#quot;")
    return escaped.replace("<", "#lt;").replace(">", "#gt;").replace("\n", "<br/>")


def to_mermaid(graph: ProvenanceGraph, trust: Mapping[str, Any], marks: Marks = NO_MARKS) -> str:
    """A Mermaid flowchart with the same colours as DOT and the HTML report."""
    data = document(graph, trust)
    nodes = {node["id"]: node for node in data["nodes"]}
    ids = {node["id"]: f"n{index}" for index, node in enumerate(data["nodes"])}
    lines = [f"%% {trust['summary']}", "flowchart LR"]
    for node in data["nodes"]:
        start, end = _MERMAID_SHAPES[node["kind"]]
        lines.append(f"  {ids[node['id']]}{start}{_mermaid_text(label(node, marks))}{end}")
    failing = []
    for index, edge in enumerate(data["edges"]):
        lines.append(f"  {ids[edge['source']]} -->|{edge['kind']}| {ids[edge['target']]}")
        if edge_status(edge, nodes) == FAIL:
            failing.append(str(index))
    return "\n".join([*lines, *_mermaid_styles(data["nodes"], ids, marks, failing)]) + "\n"


def _mermaid_styles(
    nodes: list[dict[str, Any]], ids: Mapping[str, str], marks: Marks, failing: list[str]
) -> list[str]:
    lines = [f"  classDef {kind} fill:{fill},stroke:{BORDER[OK]}" for kind, fill in FILL.items()]
    lines += [f"  classDef {s} stroke:{BORDER[s]},stroke-width:3px" for s in (FAIL, WAIVED)]
    for kind in FILL:
        members = [ids[n["id"]] for n in nodes if n["kind"] == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    for status in (FAIL, WAIVED):
        members = [ids[n["id"]] for n in nodes if marks.status(n["id"]) == status]
        if members:
            lines.append(f"  class {','.join(members)} {status}")
    if failing:
        lines.append(f"  linkStyle {','.join(failing)} stroke:{EDGE[FAIL]},stroke-width:2px")
    return lines


Exporter = Callable[[ProvenanceGraph, Mapping[str, Any], Marks], str]

# `html` is the report's page (`policy_engine.report.html`), which draws the graph itself.
EXPORTERS: dict[str, Exporter] = {
    "json": to_json,
    "dot": to_dot,
    "mermaid": to_mermaid,
}
__all__ = ["EXPORTERS", "FORMATS", "Exporter", "document"]
