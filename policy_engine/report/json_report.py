"""JSON output: deterministic (sorted, no timestamps), validated by the pydantic schema."""

from __future__ import annotations

from collections import Counter

from policy_engine import __version__
from policy_engine.compiler.ir import Waiver
from policy_engine.evaluate import Finding, Undecided
from policy_engine.graph.model import NodeKind
from policy_engine.report.counts import control_status, counts
from policy_engine.report.model import (
    ControlOut,
    EvidenceOut,
    FindingOut,
    LockedOut,
    ReportOut,
    SummaryOut,
    SupersededOut,
    UndecidedOut,
    WaiverOut,
)
from policy_engine.results import CheckResult


def finding_out(finding: Finding) -> FindingOut:
    return FindingOut(
        control=finding.control,
        title=finding.title,
        severity=finding.severity,  # type: ignore[arg-type]
        stage=finding.stage,
        kind=finding.kind.value,
        subject=finding.subject,
        message=finding.message,
        evidence=[
            EvidenceOut(label=e.label, value=e.value, source=e.source) for e in finding.evidence
        ],
        file=finding.location.file,
        line=finding.location.line,
        column=finding.location.column,
        subject_file=finding.subject_source.file if finding.subject_source else None,
        subject_line=finding.subject_source.line if finding.subject_source else None,
        risks=list(finding.risks),
        waived=_waiver_out(finding.waiver) if finding.waiver else None,
    )


def _waiver_out(waiver: Waiver) -> WaiverOut:
    return WaiverOut(
        owner=waiver.owner,
        reason=waiver.reason,
        expires=waiver.expires.isoformat(),
        file=waiver.location.file,
        line=waiver.location.line,
    )


def report_model(result: CheckResult, repository: str) -> ReportOut:
    evaluation, graph = result.evaluation, result.graph
    controls = [
        ControlOut(
            id=c.control.id,
            title=c.control.title,
            severity=c.control.severity,
            stage=c.control.stage,
            file=c.control.location.file,
            line=c.control.location.line,
            status=control_status(c),  # type: ignore[arg-type]
            subjects=c.subjects,
            findings=c.findings,
            waived=c.waived,
            risks=list(c.control.risks),
        )
        for c in evaluation.controls
    ]
    active, counted = evaluation.active, counts(evaluation)
    nodes = Counter(attrs["kind"] for _, attrs in graph.g.nodes(data=True))  # three counts
    summary = SummaryOut(
        controls=counted.controls,
        passed=counted.passed,
        failed=counted.failed,
        findings=counted.findings,
        waived=counted.waived,
        by_severity=counted.by_severity,
        by_kind=dict(sorted(Counter(f.kind.value for f in active).items())),
        artifacts=nodes[NodeKind.ARTIFACT],
        steps=nodes[NodeKind.STEP],
        attestations=nodes[NodeKind.ATTESTATION],
    )
    return ReportOut(
        version=__version__,
        policy=result.policy.name,
        repository=repository,
        summary=summary,
        controls=controls,
        findings=[finding_out(f) for f in evaluation.findings],
        warnings=list(evaluation.warnings),
        judged_from_lock=[
            LockedOut(path=p, algorithm=c.algorithm, digest=c.value, source=str(c.source))
            for p, c in graph.unmaterialised().items()
        ],
        undecided=[_undecided_out(u) for u in evaluation.undecided],
        superseded=[
            SupersededOut(file=s.file, subject=s.subject, predicate_type=s.predicate_type)
            for s in evaluation.superseded
        ],
    )


def _undecided_out(undecided: Undecided) -> UndecidedOut:
    location = undecided.finding.location
    return UndecidedOut(
        control=undecided.control,
        subject=undecided.subject,
        message=undecided.message,
        file=location.file,
        line=location.line,
    )


def render_json(result: CheckResult, repository: str) -> str:
    return report_model(result, repository).model_dump_json(indent=2) + "\n"
