"""JUnit XML output, for CI systems that show test reports (GitLab, Jenkins, Azure, ...).

One test case per control and subject: a subject with findings is a failing
case (message, severity, kind, evidence and the rule's location), skipped when
a current waiver covers its findings; a control without findings is one
passing case. For `mlpolicy diff`, new findings fail,
unchanged ones are skipped (or fail, with ``--fail-on-unchanged``) and fixed
ones pass. Output is deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from policy_engine.evaluate import ControlResult, Finding
from policy_engine.report import policy_change
from policy_engine.results import CheckResult

if TYPE_CHECKING:
    from policy_engine.results import DiffResult

# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Case:
    """One test case: a control and a subject, and how it ended."""

    control: str
    name: str
    outcome: str  # "pass", "fail" or "skip"
    findings: tuple[Finding, ...] = ()
    note: str = ""  # why it was skipped, or what state a diff gave it


def render_junit(result: CheckResult, repository: str) -> str:
    """JUnit for `mlpolicy check`: every finding fails its case; clean controls pass."""
    cases = _failing_cases(result.evaluation.findings, "fail")
    cases += _passing_controls(result.evaluation.controls, result.evaluation.findings)
    return _document(f"mlpolicy check {repository}", _ordered(cases))


def render_junit_diff(diff: DiffResult) -> str:
    """JUnit for `mlpolicy diff`: new findings fail; unchanged skip (or fail); fixed pass."""
    unchanged = "fail" if diff.fail_on_unchanged else "skip"
    cases = _failing_cases(diff.new, "fail", "new")
    cases += _failing_cases(diff.unchanged, unchanged, f"unchanged since `{diff.base.label}`")
    cases += [Case(c, f"{name} (fixed)", "pass") for c, name, _ in _groups(diff.fixed)]
    evaluation = diff.result.evaluation
    cases += _passing_controls(evaluation.controls, evaluation.findings)
    cases += _policy_change(diff)
    title = f"mlpolicy diff {diff.repository} ({diff.base.label}..{diff.head.label})"
    return _document(title, _ordered(cases))


def _policy_change(diff: DiffResult) -> list[Case]:
    """A case for a policy change: failing when it fails the diff, else passing."""
    if diff.policy_change is None:
        return []
    outcome = "fail" if diff.policy_change_fails else "pass"
    return [Case(policy_change.RULE_ID, "the policy changed", outcome, (), _change_note(diff))]


def _change_note(diff: DiffResult) -> str:
    assert diff.policy_change is not None
    return policy_change.summary(diff, diff.policy_change)


def _groups(findings: Iterable[Finding]) -> list[tuple[str, str, tuple[Finding, ...]]]:
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        grouped.setdefault((finding.control, finding.subject), []).append(finding)
    return [(c, s, tuple(fs)) for (c, s), fs in grouped.items()]


def _failing_cases(findings: Iterable[Finding], outcome: str, note: str = "") -> list[Case]:
    return [Case(c, s, outcome, fs, note) for c, s, fs in _groups(findings)]


def _passing_controls(controls: Sequence[ControlResult], findings: Sequence[Finding]) -> list[Case]:
    failing = {f.control for f in findings}
    return [
        Case(c.control.id, f"every subject ({c.subjects})", "pass")
        for c in controls
        if c.control.id not in failing
    ]


def _ordered(cases: list[Case]) -> list[Case]:
    return sorted(cases, key=lambda c: (c.control, c.name))


def _document(name: str, cases: Sequence[Case]) -> str:
    cases = [_waived(c) for c in cases]
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(c.outcome == "fail" for c in cases)),
        "errors": "0",
        "skipped": str(sum(c.outcome == "skip" for c in cases)),
    }
    root = ET.Element("testsuites", {"name": "mlpolicy", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": _clean(name), **counts})
    for case in cases:
        _case(suite, case)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _waived(case: Case) -> Case:
    """A case whose findings a current waiver covers, all of them, is skipped, not failed."""
    waiver = case.findings[0].waiver if case.findings else None
    if case.outcome == "fail" and waiver is not None and all(f.waived for f in case.findings):
        note = f"waived by {waiver.owner} until {waiver.expires.isoformat()}: {waiver.reason}"
        return replace(case, outcome="skip", note=note)
    return case


def _case(suite: ET.Element, case: Case) -> None:
    attributes = {"classname": _clean(case.control), "name": _clean(case.name)}
    if case.findings:
        location = case.findings[0].location
        attributes |= {"file": _clean(location.file), "line": str(location.line)}
    element = ET.SubElement(suite, "testcase", attributes)
    if case.outcome == "fail":
        failure = ET.SubElement(element, "failure", _failure_attributes(case))
        failure.text = _clean(_details(case))
    elif case.outcome == "skip":
        ET.SubElement(element, "skipped", {"message": _clean(case.note)})


def _failure_attributes(case: Case) -> dict[str, str]:
    if not case.findings:
        return {"message": _clean(case.note), "type": "policy-change"}
    first = case.findings[0]
    message = "; ".join(f.message for f in case.findings)
    prefix = f"{case.note}: " if case.note else ""
    return {"message": _clean(prefix + message), "type": f"{first.severity} {first.kind.value}"}


def _details(case: Case) -> str:
    lines: list[str] = [] if case.findings else [case.note]
    for f in case.findings:
        loc = f.location
        lines += [f"{f.control} [{f.severity}] {f.subject}: {f.message}"]
        lines += [
            f"kind: {f.kind.value}; stage: {f.stage}; rule: {loc.file}:{loc.line}:{loc.column}"
        ]
        if f.subject_source is not None:
            lines.append(f"defined at: {f.subject_source}")
        for e in f.evidence:
            where = f"  ({e.source})" if e.source else ""
            lines.append(f"evidence: {e.label}: {e.value}{where}")
    return "\n".join(lines)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
