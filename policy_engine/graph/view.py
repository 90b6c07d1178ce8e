"""How every drawing of the graph looks: colours, labels, which nodes and edges are marked.

The HTML report, DOT and Mermaid share these, so a node reads the same in each:
its fill says its kind, a red border that a finding is about it (amber: only
waived findings), a red edge that the bytes it records are not the bytes there
now. Keys are named as the policy names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Fill by node kind; border and edge colour by status.
FILL = {
    "artifact": "#e7f0fb",
    "step": "#e6f4ea",
    "attestation": "#fdf4dc",
    "principal": "#efe7fb",
    "run": "#fbeee6",
    "logged-model": "#fbeee6",
    "model-version": "#fbeee6",
}
BORDER = {"fail": "#cf222e", "waived": "#bf8700", "ok": "#57606a"}
EDGE = {"fail": "#cf222e", "ok": "#8c959f"}
FAIL, WAIVED, OK = "fail", "waived", "ok"


@dataclass(frozen=True)
class Marks:
    """What the drawing should say beyond the graph: the policy's names of keys
    (``key_names``: key id -> name) and node statuses (node id -> ``fail`` or ``waived``)."""

    key_names: Mapping[str, str] = field(default_factory=dict)
    nodes: Mapping[str, str] = field(default_factory=dict)

    def status(self, node: str) -> str:
        return self.nodes.get(node, OK)

    def key_name(self, keyid: str) -> str:
        """The policy's name of the key, else its id's first 12 characters."""
        return self.key_names.get(keyid, keyid[:12])


def label(node: Mapping[str, Any], marks: Marks) -> str:
    """A node's label in an exported document (``graph.export.document``), lines by ``\\n``."""
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
        return f"{node['file']}\n{what}\n{signed_by(node, marks)}"
    return f"key {marks.key_name(node['keyid'])}"


def signed_by(node: Mapping[str, Any], marks: Marks) -> str:
    """Who signed an attestation node, by the policy's key names."""
    names = sorted(marks.key_name(k) for k in node["signers"])
    return "signed by " + ", ".join(names) if names else "no valid signature"


def edge_status(edge: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]]) -> str:
    """``fail`` when the edge records digests unlike its artifact's current bytes."""
    return FAIL if _disagrees(edge, nodes) else OK


def _disagrees(edge: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]]) -> bool:
    for end in (edge["source"], edge["target"]):
        current = nodes[end].get("workspace") if nodes[end]["kind"] == "artifact" else None
        if current is None:
            continue
        for algorithm, value in edge["digest"].items():
            if algorithm in ("sha256", "md5") and current[algorithm] != value:
                return True
    return False
