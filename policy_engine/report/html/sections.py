"""The report's text: its header, the summary by lifecycle stage, every finding with evidence.

Everything is read from the JSON report's model (``report.model.ReportOut``),
the contract the page also embeds, and escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from policy_engine.lifecycle import STAGES
from policy_engine.report.html.page import escape
from policy_engine.report.model import ControlOut, FindingOut, ReportOut

EVIDENCE_OPEN = 6  # evidence lists longer than this start folded


def header(report: ReportOut, trust: str) -> str:
    """The title, the verdict and the counts."""
    s = report.summary
    verdict = (
        f'<span class="pill fail">{s.findings} finding{"" if s.findings == 1 else "s"}</span>'
        if s.findings
        else '<span class="pill pass">passed</span>'
    )
    waived = f", {s.waived} waived" if s.waived else ""
    severities = ", ".join(f"{n} {k}" for k, n in reversed(s.by_severity.items()) if n)
    return (
        f'<header class="top"><h1>mlpolicy check: policy <code>{escape(report.policy)}</code> '
        f"on <code>{escape(report.repository)}</code></h1>"
        f'<p class="status">{verdict} {s.failed} of {s.controls} controls failing{waived}'
        f"{'; ' + escape(severities) if severities else ''} · {s.artifacts} artifacts, "
        f"{s.steps} steps, {s.attestations} attestations</p>"
        f'<p class="trust">{escape(trust)}</p></header>'
    )


def stages(report: ReportOut) -> str:
    """One card per lifecycle stage with controls: each control's status and finding count."""
    rows = _control_rows(report)
    cards = [_stage(stage, rows[stage]) for stage in STAGES if stage in rows]
    label = 'aria-label="summary by lifecycle stage"'
    return f'<section class="stages" {label}>{"".join(cards)}</section>'


def _control_rows(report: ReportOut) -> dict[str, list[tuple[str, str, str, int]]]:
    """``stage -> [(control, title, status, active findings)]``, built-in checks included."""
    rows: dict[str, list[tuple[str, str, str, int]]] = {}
    for c in report.controls:
        rows.setdefault(c.stage, []).append((c.id, c.title, c.status, c.findings))
    declared = {c.id for c in report.controls}
    builtin: dict[tuple[str, str, str], list[FindingOut]] = {}
    for f in report.findings:
        if f.control not in declared:
            builtin.setdefault((f.stage, f.control, f.title), []).append(f)
    for (stage, control, title), found in sorted(builtin.items()):
        active = sum(1 for f in found if f.waived is None)
        rows.setdefault(stage, []).append((control, title, "fail" if active else "waived", active))
    return rows


def _stage(stage: str, rows: Sequence[tuple[str, str, str, int]]) -> str:
    statuses = {status for _, _, status, _ in rows}
    worst = next((s for s in ("fail", "undecided", "waived") if s in statuses), "pass")
    items = "".join(
        f"<li>{_pill(status)}<code>{escape(control)}</code>"
        f' <span class="title" title="{escape(title)}">{escape(title)}</span>'
        f"{f' ({found})' if found else ''}</li>"
        for control, title, status, found in rows
    )
    return (
        f'<div class="stage {worst}" data-stage="{escape(stage)}">'
        f"<h3>{escape(STAGES[stage])}</h3><ul>{items}</ul></div>"
    )


def findings(report: ReportOut, nodes: Mapping[str, str | None], tags: Mapping[int, str]) -> str:
    """Every finding, grouped by control in the report's order; ``nodes`` maps a subject to its
    graph node, ``tags`` a finding's index to a label (``new`` in a comparison)."""
    if not report.findings:
        return '<p class="note">No findings: every control passed.</p>'
    titles = {c.id: c for c in report.controls}
    parts, current = [], None
    for index, finding in enumerate(report.findings):
        if finding.control != current:
            current = finding.control
            parts.append(_control_head(finding, titles.get(current)))
        parts.append(_finding(index, finding, nodes.get(finding.subject), tags.get(index)))
    return "".join(parts)


def _control_head(finding: FindingOut, control: ControlOut | None) -> str:
    where = f" · {control.file}:{control.line}" if control else " · built-in check"
    return (
        f'<h3 class="control-head"><code>{escape(finding.control)}</code> {escape(finding.title)}'
        f' <span class="note">{escape(STAGES.get(finding.stage, finding.stage))}'
        f"{escape(where)}</span></h3>"
    )


def _finding(index: int, f: FindingOut, node: str | None, tag: str | None) -> str:
    status = "waived" if f.waived else "fail"
    attrs = f' data-node="{escape(node)}"' if node else ""
    subject = (
        f'<button type="button">{escape(f.subject)}</button>'
        if node
        else f"<code>{escape(f.subject)}</code>"
    )
    return (
        f'<article class="finding {status}" id="finding-{index}" '
        f'data-control="{escape(f.control)}"{attrs}><header>{_pill(f.severity)}'
        f"{_pill(tag) if tag else ''}{_pill('waived') if f.waived else ''}"
        f'{subject} <span class="note">{escape(f.kind)}</span></header>'
        f"<p>{message(f.message)}</p>{_waiver(f)}{_evidence(f)}"
        f'<p class="where">rule {escape(f"{f.file}:{f.line}:{f.column}")}{_subject_source(f)}</p>'
        "</article>"
    )


def message(text: str) -> str:
    """A finding's message, escaped, its balanced `quoted` parts as code."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return escape(text)
    return "".join(f"<code>{escape(p)}</code>" if n % 2 else escape(p) for n, p in enumerate(parts))


def _pill(text: str) -> str:
    return f'<span class="pill {escape(text)}">{escape(text)}</span> '


def _waiver(f: FindingOut) -> str:
    w = f.waived
    if w is None:
        return ""
    return (
        f'<p class="where">waived by {escape(w.owner)} until {escape(w.expires)}: '
        f"{escape(w.reason)} ({escape(f'{w.file}:{w.line}')})</p>"
    )


def _subject_source(f: FindingOut) -> str:
    if f.subject_file is None:
        return ""
    line = f":{f.subject_line}" if f.subject_line else ""
    return f" · subject {escape(f.subject_file + line)}"


def _evidence(f: FindingOut) -> str:
    if not f.evidence:
        return ""
    rows = "".join(
        f"<tr><td>{escape(e.label)}</td><td><code>{escape(e.value)}</code>{_source(e.source)}</td></tr>"
        for e in f.evidence
    )
    fold = "" if len(f.evidence) > EVIDENCE_OPEN else " open"
    return (
        f"<details{fold}><summary>evidence ({len(f.evidence)})</summary>"
        f'<table class="evidence">{rows}</table></details>'
    )


def _source(source: str | None) -> str:
    return f'<br><span class="note">{escape(source)}</span>' if source else ""


def notes(report: ReportOut, graph_notes: Sequence[str]) -> str:
    """Warnings, artifacts judged from the lock, rules undecided, and inputs set aside."""
    lists = [
        ("Warnings", list(report.warnings)),
        (
            "Judged from dvc.lock (bytes not materialised)",
            [f"{j.path}: {j.algorithm} {j.digest} ({j.source})" for j in report.judged_from_lock],
        ),
        ("Undecided", [f"{u.control} on {u.subject}: {u.message}" for u in report.undecided]),
        ("Notes", list(graph_notes)),
    ]
    return "".join(titled_list(title, items) for title, items in lists)


def titled_list(title: str, items: Sequence[str]) -> str:
    """A section with a heading and one line per item; nothing when there are no items."""
    if not items:
        return ""
    rows = "".join(f"<li>{escape(i)}</li>" for i in items)
    heading = f"<h2>{escape(title)} ({len(items)})</h2>"
    return f'<div class="section">{heading}<ul class="plain">{rows}</ul></div>'
