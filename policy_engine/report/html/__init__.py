"""The HTML report: one self-contained page to look at rather than read.

The summary by lifecycle stage, every finding with its evidence, and the
provenance graph drawn as a layered pipeline, failing nodes and edges marked;
clicking a finding selects its subject in the drawing. Nothing is fetched when
the page is viewed (see :mod:`.page` for its Content-Security-Policy), and the
same inputs give the same bytes. The JSON report (``--format json``) is
embedded whole, with what the drawing drew, in ``<script id="mlpolicy-data">``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.graph.export import document
from policy_engine.graph.view import Marks
from policy_engine.report.html import comparison, details, drawing, sections
from policy_engine.report.html.page import escape, page
from policy_engine.report.json_report import report_model
from policy_engine.report.marks import marks_for, subject_node
from policy_engine.results import CheckResult

if TYPE_CHECKING:
    from policy_engine.graph.model import ProvenanceGraph
    from policy_engine.results import DiffResult


def render_html(result: CheckResult, repository: str) -> str:
    """The page for `mlpolicy check`."""
    return _check_page(result, repository, {})


def render_html_diff(diff: DiffResult) -> str:
    """The page for `mlpolicy diff`: the head's report, its new findings tagged ``new``, the
    fixed ones listed after."""
    findings = diff.result.evaluation.findings
    tags = {i: "new" for i, f in enumerate(findings) if f in diff.new}
    fixed = sections.titled_list(f"Fixed since {diff.base.label}", comparison.fixed(diff))
    return _check_page(diff.result, diff.repository, tags, fixed, comparison.comparison(diff))


def render_graph_html(graph: ProvenanceGraph, trust: Mapping[str, Any], marks: Marks) -> str:
    """The page for `mlpolicy graph` with no policy to check: the drawing and its details."""
    doc = document(graph, trust)
    drawn = drawing.draw(doc, marks, details.subtitles(doc, marks))
    body = (
        f'<header class="top"><h1>Provenance graph of <code>{escape(graph.root)}</code></h1>'
        f'<p class="trust">{escape(trust["summary"])}</p></header>'
        f'<main class="graph-only">{_graph_panel(doc, marks, drawn)}</main>'
        f'<div class="panel section">{_keys(doc, marks)}'
        f"{sections.titled_list('Notes', graph.notes)}</div>"
    )
    data = {"drawing": _drawing_data(drawn), "graph": doc}
    return page(f"Provenance graph of {graph.root}", body, data, drawing.palette_css())


def _check_page(
    result: CheckResult,
    repository: str,
    tags: Mapping[int, str],
    extra: str = "",
    above: str = "",
) -> str:
    report = report_model(result, repository)
    doc = document(result.graph, {"summary": ""})
    marks = marks_for(result.graph, result.policy, result)
    drawn = drawing.draw(doc, marks, details.subtitles(doc, marks))
    nodes = {f.subject: subject_node(result.graph, f.subject) for f in report.findings}
    findings = sections.findings(report, nodes, tags)
    body = (
        sections.header(report, _trust(marks))
        + (f'<div class="above">{above}</div>' if above else "")
        + sections.stages(report)
        + f'<main><div class="panel"><h2>Findings</h2>{findings}{extra}'
        + f"{sections.notes(report, result.graph.notes)}{_keys(doc, marks)}</div>"
        + f"{_graph_panel(doc, marks, drawn)}</main>"
    )
    data = {"drawing": _drawing_data(drawn), "report": report.model_dump(mode="json")}
    title = f"mlpolicy check: {report.policy} on {repository}"
    return page(title, body, data, drawing.palette_css())


def _trust(marks: Marks) -> str:
    names = sorted(set(marks.key_names.values()))
    return "signatures checked against the keys the policy trusts: " + (
        ", ".join(names) if names else "none"
    )


def _graph_panel(doc: Mapping[str, Any], marks: Marks, drawn: drawing.Drawing) -> str:
    ids = [n["id"] for n in drawn.nodes]
    return (
        '<div class="panel graph-panel"><h2>Provenance graph</h2>'
        '<div class="legend"><span>artifact / step</span><span class="l-fail">failing</span>'
        '<span class="l-waived">waived</span><span class="l-edge">digest recorded ≠ current bytes'
        "</span></div>"
        f'<div class="drawing">{drawn.svg}</div><div class="details-box">'
        '<p class="note" id="hint">Click a finding or a node to see its details.</p>'
        '<p class="note" id="undrawn" hidden>This subject is not an artifact or a step: '
        "it is not drawn.</p>"
        f"{details.details(doc, marks, ids)}</div></div>"
    )


def _keys(doc: Mapping[str, Any], marks: Marks) -> str:
    return f'<div class="section"><h2>Keys</h2>{details.keys(doc, marks)}</div>'


def _drawing_data(drawn: drawing.Drawing) -> dict[str, Any]:
    return {"nodes": list(drawn.nodes), "edges": list(drawn.edges)}


__all__ = ["render_graph_html", "render_html", "render_html_diff"]
