"""What the page says about each drawn node: its facts, the attestations about it, who signed.

Every value comes from the exported graph document (``graph.export.document``)
and is escaped here; keys are named by the policy (``graph.view.Marks``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from policy_engine.graph.view import Marks, signed_by
from policy_engine.report.html.page import escape

Node = Mapping[str, Any]
ATTESTATION_EDGES = {"attests", "material", "product", "subject"}


def attestations_by_node(document: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """``node -> [(edge kind, attestation id)]`` for the attestations about each node."""
    about: dict[str, list[tuple[str, str]]] = {}
    for edge in document["edges"]:
        if edge["kind"] in ATTESTATION_EDGES:
            source_is_att = edge["source"].startswith("attestation:")
            node, att = (
                (edge["target"], edge["source"])
                if source_is_att
                else (edge["source"], edge["target"])
            )
            about.setdefault(node, []).append((edge["kind"], att))
    return about


def subtitles(document: Mapping[str, Any], marks: Marks) -> dict[str, str]:
    """Each drawn node's second line: an artifact's digest, who signed a step's links."""
    nodes = {n["id"]: n for n in document["nodes"]}
    about = attestations_by_node(document)
    lines: dict[str, str] = {}
    for node in document["nodes"]:
        if node["kind"] == "artifact":
            current = node["workspace"]
            lines[node["id"]] = f"sha256 {current['sha256'][:12]}" if current else "bytes absent"
        elif node["kind"] == "step":
            links = [nodes[a] for kind, a in about.get(node["id"], []) if kind == "attests"]
            lines[node["id"]] = _step_signers(links, marks)
    return lines


def _step_signers(links: Sequence[Node], marks: Marks) -> str:
    if not links:
        return "no link"
    names = sorted({marks.key_name(k) for link in links for k in link["signers"]})
    if names:
        return "signed by " + ", ".join(names)
    untrusted = sorted({s["keyid"][:12] for link in links for s in link["signatures"]})
    return "untrusted key " + ", ".join(untrusted) if untrusted else "unsigned link"


def details(document: Mapping[str, Any], marks: Marks, drawn: Sequence[str]) -> str:
    """A hidden section per drawn node, shown when the node is selected."""
    nodes = {n["id"]: n for n in document["nodes"]}
    about = attestations_by_node(document)
    return "".join(_section(nodes[n], nodes, about.get(n, []), marks) for n in drawn)


def _section(
    node: Node, nodes: Mapping[str, Node], about: Sequence[tuple[str, str]], marks: Marks
) -> str:
    facts = _artifact_facts(node) if node["kind"] == "artifact" else _step_facts(node)
    title = node.get("path") or node.get("name")
    return (
        f'<section class="details" data-node="{escape(node["id"])}" hidden>'
        f"<h3>{escape(node['kind'])} <code>{escape(title)}</code></h3>"
        f"<dl>{''.join(f'<dt>{escape(k)}</dt><dd>{escape(v)}</dd>' for k, v in facts)}</dl>"
        f"{_attestations(about, nodes, marks)}</section>"
    )


def _artifact_facts(node: Node) -> list[tuple[str, str]]:
    current = node["workspace"]
    facts = (
        [("bytes", "absent")]
        if current is None
        else [
            ("sha256", current["sha256"]),
            ("md5", current["md5"]),
            ("size", f"{current['size']} bytes"),
        ]
    )
    claims = sorted({(c["algorithm"], c["value"]) for c in node["claims"]})
    return facts + [(f"recorded {a}", f"{v} ({_sources(node, a, v)})") for a, v in claims]


def _sources(node: Node, algorithm: str, value: str) -> str:
    found = [
        c["source"] for c in node["claims"] if (c["algorithm"], c["value"]) == (algorithm, value)
    ]
    more = f" and {len(found) - 2} more" if len(found) > 2 else ""
    return ", ".join(found[:2]) + more


def _step_facts(node: Node) -> list[tuple[str, str]]:
    facts = [("defined in", node["defined_in"]), ("command", " && ".join(node["cmd"]))]
    facts += [("description", node["desc"])] if node["desc"] else []
    facts += [(f"meta.{k}", str(v)) for k, v in sorted(node["meta"].items())]
    return facts + ([("recorded only", "by an attestation")] if node["recorded"] else [])


def _attestations(about: Sequence[tuple[str, str]], nodes: Mapping[str, Node], marks: Marks) -> str:
    if not about:
        return '<p class="note">No attestation names it.</p>'
    items = [
        f"<li>{escape(kind)} of <code>{escape(nodes[att]['file'])}</code>: "
        f"{escape(_what(nodes[att]))}, {escape(_signatures(nodes[att], marks))}</li>"
        for kind, att in sorted(set(about))
    ]
    return f'<p>Attestations ({len(items)}):</p><ul class="plain">{"".join(items)}</ul>'


def _what(att: Node) -> str:
    return str(att["predicate_type"] or att["attestation_kind"])


def _signatures(att: Node, marks: Marks) -> str:
    if att["signers"]:
        return signed_by(att, marks)
    seen = [f"{s['status']} key {marks.key_name(s['keyid'])}" for s in att["signatures"]]
    return "; ".join(seen) if seen else "not signed"


def keys(document: Mapping[str, Any], marks: Marks) -> str:
    """The keys that signed attestations, by the policy's names, with what each signed."""
    attestations = [n for n in document["nodes"] if n["kind"] == "attestation"]
    signed = Counter(marks.key_name(k) for a in attestations for k in a["signers"])
    refused = Counter(
        f"{s['status']} key {s['keyid'][:12]}"
        for a in attestations
        for s in a["signatures"]
        if s["status"] != "valid"
    )
    rows = [
        f"<li><code>{escape(k)}</code> signed {n} attestation(s)</li>"
        for k, n in sorted(signed.items())
    ]
    rows += [
        f"<li>{escape(k)}: {n} signature(s) not counted</li>" for k, n in sorted(refused.items())
    ]
    if not rows:
        return '<p class="note">No signature verified.</p>'
    return f'<ul class="plain">{"".join(rows)}</ul>'
