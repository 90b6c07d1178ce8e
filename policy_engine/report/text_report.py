"""Human-readable output: controls by lifecycle stage, each finding with why and evidence."""

from __future__ import annotations

from policy_engine.evaluate import ControlResult, Finding
from policy_engine.lifecycle import STAGES
from policy_engine.report.counts import counts
from policy_engine.results import CheckResult

MAX_EVIDENCE = 8
MAX_LISTED = 50


def render_text(result: CheckResult, repository: str) -> str:
    evaluation = result.evaluation
    by_control: dict[str, list[Finding]] = {}
    for finding in evaluation.findings:
        by_control.setdefault(finding.control, []).append(finding)
    lines = [_header(result, repository), ""]
    builtin = [f for f in evaluation.findings if f.control.startswith("builtin/")]
    for stage, title in STAGES.items():
        controls = [c for c in evaluation.controls if c.control.stage == stage]
        stage_builtins = [f for f in builtin if f.stage == stage]
        if not controls and not stage_builtins:
            continue
        lines.append(f"{title} ({stage})")
        for control in controls:
            lines += _control(control, by_control.get(control.control.id, []))
        lines += _builtins(stage_builtins)
        lines.append("")
    lines += [f"warning: {w}" for w in evaluation.warnings]
    lines += from_lock_lines(result) + undecided_lines(result)
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def _header(result: CheckResult, repository: str) -> str:
    g = result.graph
    counts = (
        f"{sum(1 for _ in g.steps())} steps, {sum(1 for _ in g.artifacts())} artifacts, "
        f"{sum(1 for _ in g.attestations())} attestations"
    )
    return f"mlpolicy check {repository}: policy `{result.policy.name}` ({counts})"


def _control(result: ControlResult, findings: list[Finding]) -> list[str]:
    c = result.control
    status = "FAIL" if result.findings else "UNJUDGED" if result.undecided else None
    status = status or ("WAIVED" if result.waived else "pass")
    out = [f"  {status:6}  {c.id}  {c.title}  [{c.severity}]"]
    if findings and c.risks:
        out.append(f"          mitigates: {', '.join(c.risks)}")
    for finding in findings:
        out += _finding(finding)
    return out


def _builtins(findings: list[Finding]) -> list[str]:
    out: list[str] = []
    for control in sorted({f.control for f in findings}):
        group = [f for f in findings if f.control == control]
        out.append(f"  FAIL    {control}  {group[0].title}  [{group[0].severity}]")
        for finding in group:
            out += _finding(finding)
    return out


def _finding(finding: Finding) -> list[str]:
    loc = finding.location
    out = [
        f"        - {finding.subject}: {finding.message}",
        f"          {finding.kind.value} · {loc.file}:{loc.line}:{loc.column}",
    ]
    if finding.waiver is not None:
        w = finding.waiver
        out.append(
            f"          waived by {w.owner} until {w.expires.isoformat()}: {w.reason} "
            f"({w.location.file}:{w.location.line})"
        )
    for evidence in finding.evidence[:MAX_EVIDENCE]:
        where = f"  ({evidence.source})" if evidence.source else ""
        out.append(f"          {evidence.label}: {evidence.value}{where}")
    if len(finding.evidence) > MAX_EVIDENCE:
        out.append(f"          … {len(finding.evidence) - MAX_EVIDENCE} more (see --format json)")
    return out


def from_lock_lines(result: CheckResult) -> list[str]:
    """The artifacts judged from the lock only (their bytes are not materialised), if any."""
    locked = result.graph.unmaterialised()
    if not locked:
        return []
    out = [f"judged from dvc.lock: inherits DVC's md5 ({len(locked)} artifacts not materialised)"]
    for path, claim in list(locked.items())[:MAX_LISTED]:
        out.append(f"  - {path}  {claim.algorithm} {claim.value}  ({claim.source.file})")
    if len(locked) > MAX_LISTED:
        out.append(f"  … {len(locked) - MAX_LISTED} more (see --format json)")
    return [*out, ""]


def undecided_lines(result: CheckResult) -> list[str]:
    """The rules the inputs could not judge (the run exits 2), if any."""
    undecided = result.evaluation.undecided
    if not undecided:
        return []
    out = [f"could not judge {len(undecided)} rule(s): the run cannot pass"]
    for item in undecided:
        out.append(f"  - {item.control}  {item.subject}: {item.message}")
    return [*out, ""]


def _summary(result: CheckResult) -> str:
    c = counts(result.evaluation)
    waived_text = f", {c.waived_controls} waived" if c.waived_controls else ""
    waived_text += f", {c.undecided_controls} could not be judged" if c.undecided_controls else ""
    waived_findings = f", {c.waived} waived" if c.waived else ""
    if not c.findings:
        return f"{c.passed} controls passed{waived_text}, 0 findings{waived_findings}"
    head = f"{c.failed} controls failed, {c.passed} passed{waived_text}"
    return f"{head}; {c.findings} findings ({c.severities_text()}){waived_findings}"
