"""The explanation of controls (``mlpolicy explain``) as a text tree or as JSON of the same
tree: control, rules, subjects, the predicate's parts, evidence."""

from __future__ import annotations

import json
from dataclasses import asdict

from policy_engine import __version__
from policy_engine.evaluate.explain import Explanation, Node

MARKS = {"pass": "✓", "fail": "✗", "waived": "~", "undecided": "?", "info": "·"}


def render_explain_text(explanation: Explanation) -> str:
    """Each control as a tree, one node a line: mark, label, status, why, where."""
    lines: list[str] = []
    for control in explanation.controls:
        lines.append(_line(control))
        lines += _children(control.children, "")
        lines.append("")
    return "\n".join(lines)


def _line(node: Node) -> str:
    status = "" if node.status == "info" else f" [{node.status}]"
    text = f"{MARKS[node.status]} {node.label}{status}"
    if node.message:
        text += f": {node.message}"
    if node.location:
        text += f"  ({node.location})"
    return text


def _children(nodes: tuple[Node, ...], prefix: str) -> list[str]:
    lines: list[str] = []
    for n, node in enumerate(nodes):
        last = n == len(nodes) - 1
        lines.append(prefix + ("└─ " if last else "├─ ") + _line(node))
        lines += _children(node.children, prefix + ("   " if last else "│  "))
    return lines


def render_explain_json(explanation: Explanation) -> str:
    """``{"tool", "version", "controls": [tree, ...]}``; each node has ``label``, ``status``,
    ``message``, ``location`` and ``children``."""
    document = {
        "tool": "mlpolicy",
        "version": __version__,
        "controls": [asdict(c) for c in explanation.controls],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


EXPLAIN_REPORTERS = {"text": render_explain_text, "json": render_explain_json}
