"""Waivers: a current waiver marks matching findings as waived; an expired one is a finding.

A waiver matches a finding of its control whose subject matches one of its
globs. It is current through its expiry date (inclusive, in UTC). A waiver
that matches nothing is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.evaluate.findings import Finding, Kind
from policy_engine.graph.model import Evidence


@dataclass(frozen=True)
class WaiverResult:
    findings: tuple[Finding, ...]  # with waivers applied, plus expired-waiver findings
    warnings: tuple[str, ...]


def _matches(waiver: ir.Waiver, finding: Finding) -> bool:
    return waiver.control == finding.control and globs.matches_any(waiver.subjects, finding.subject)


def _expired(waiver: ir.Waiver, control: ir.Control | None) -> Finding:
    loc = waiver.location
    return Finding(
        control="builtin/expired-waiver",
        title="Waivers are current",
        severity=control.severity if control else "medium",
        stage=control.stage if control else "secure_pipelines",
        kind=Kind.POLICY,
        subject=f"waiver of {waiver.control}",
        message=(
            f"the waiver of `{waiver.control}` owned by {waiver.owner} expired on "
            f"{waiver.expires.isoformat()}; its findings count again"
        ),
        evidence=(
            Evidence("owner", waiver.owner),
            Evidence("reason", waiver.reason),
            Evidence("expired", waiver.expires.isoformat(), f"{loc.file}:{loc.line}"),
        ),
        location=loc,
    )


def apply_waivers(findings: Iterable[Finding], policy: ir.PolicySet, now: datetime) -> WaiverResult:
    """Mark waived findings, add a finding per expired waiver, warn about unused ones."""
    today = now.date()
    controls = {c.id: c for c in policy.controls}
    current = [w for w in policy.waivers if w.expires >= today]
    used: set[ir.Waiver] = set()
    out: list[Finding] = []
    for finding in findings:
        waiver = next((w for w in current if _matches(w, finding)), None)
        if waiver is not None:
            used.add(waiver)
            finding = replace(finding, waiver=waiver)
        out.append(finding)
    out += [_expired(w, controls.get(w.control)) for w in policy.waivers if w.expires < today]
    warnings = tuple(
        f"{w.location.file}:{w.location.line}: the waiver of `{w.control}` matches no finding"
        for w in current
        if w not in used
    )
    return WaiverResult(tuple(out), warnings)
