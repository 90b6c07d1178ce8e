"""Exporting the provenance graph: JSON, Graphviz DOT, Mermaid, or one self-contained HTML page.

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
import html
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

FORMATS = ("json", "dot", "mermaid", "html")


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
def to_json(graph: ProvenanceGraph, trust: Mapping[str, Any]) -> str:
    return json.dumps(document(graph, trust), indent=2, sort_keys=True, default=str) + "\n"


def _label(node: Mapping[str, Any]) -> str:
    kind = node["kind"]
    if kind == "artifact":
        current = node["workspace"]
        return str(node["path"]) + (
            f"\nsha256 {current['sha256'][:12]}" if current else "\n(absent)"
        )
    if kind == "step":
        return str(node["name"])
    if kind in ("run", "logged-model", "model-version"):
        return f"{kind}\n{node['id'].split(':', 1)[1]}"
    if kind == "attestation":
        what = node["predicate_type"] or node["attestation_kind"]
        signed = ", ".join(k[:8] for k in node["signers"]) or "no valid signature"
        return f"{node['file']}\n{what}\n{signed}"
    return f"key {node['keyid'][:12]}"


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


def to_dot(graph: ProvenanceGraph, trust: Mapping[str, Any]) -> str:
    data = document(graph, trust)
    lines = [f"// {trust['summary']}", "digraph provenance {", "  rankdir=LR;"]
    for node in data["nodes"]:
        shape = _DOT_SHAPES[node["kind"]]
        label = _dot_text(_label(node))
        lines.append(f'  "{_dot_text(node["id"])}" [shape={shape}, label="{label}"];')
    for edge in data["edges"]:
        source, target = _dot_text(edge["source"]), _dot_text(edge["target"])
        lines.append(f'  "{source}" -> "{target}" [label="{edge["kind"]}"];')
    return "\n".join([*lines, "}"]) + "\n"


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


def to_mermaid(graph: ProvenanceGraph, trust: Mapping[str, Any]) -> str:
    data = document(graph, trust)
    ids = {node["id"]: f"n{index}" for index, node in enumerate(data["nodes"])}
    lines = [f"%% {trust['summary']}", "flowchart LR"]
    for node in data["nodes"]:
        start, end = _MERMAID_SHAPES[node["kind"]]
        lines.append(f"  {ids[node['id']]}{start}{_mermaid_text(_label(node))}{end}")
    for edge in data["edges"]:
        lines.append(f"  {ids[edge['source']]} -->|{edge['kind']}| {ids[edge['target']]}")
    return "\n".join(lines) + "\n"


_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#eee}.trust{background:#fff3cd;padding:8px;border:1px solid #e0c36c}"
    "code{white-space:pre-wrap}"
)


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, default=str)
    return f"<td><code>{html.escape('' if value is None else str(value))}</code></td>"


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in columns) + "</tr>" for r in rows)
    empty = "" if rows else "<p>none</p>"
    return f"<h2>{html.escape(title)} ({len(rows)})</h2>{empty}<table><tr>{head}</tr>{body}</table>"


def to_html(graph: ProvenanceGraph, trust: Mapping[str, Any]) -> str:
    """One page, no script and no network: tables of nodes, edges, layouts, issues, notes."""
    data = document(graph, trust)
    nodes = [{"id": n["id"], "kind": n["kind"], "facts": _facts(n)} for n in data["nodes"]]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Provenance graph</title>',
        f"<style>{_STYLE}</style></head><body><h1>Provenance graph</h1>",
        f'<p class="trust">{html.escape(trust["summary"])}</p>',
        _table("Nodes", nodes, ["id", "kind", "facts"]),
        _table("Edges", data["edges"], ["source", "kind", "target", "digest", "recorded_in"]),
        _table("Layouts", data["layouts"], ["file", "signers", "expires", "steps"]),
        _table("Issues", data["issues"], ["code", "subject", "message"]),
        _table("Notes", [{"note": n} for n in data["notes"]], ["note"]),
        "<h2>Mermaid</h2><p>Paste into any Mermaid renderer.</p>",
        f"<pre>{html.escape(to_mermaid(graph, trust))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _facts(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in ("id", "kind")}


EXPORTERS: dict[str, Callable[[ProvenanceGraph, Mapping[str, Any]], str]] = {
    "json": to_json,
    "dot": to_dot,
    "mermaid": to_mermaid,
    "html": to_html,
}
__all__ = ["EXPORTERS", "FORMATS", "document"]
