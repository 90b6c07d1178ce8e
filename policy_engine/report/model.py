"""The JSON report's schema (pydantic): the contract other tools read."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = "1"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvidenceOut(_Out):
    label: str
    value: str
    source: str | None = None


class WaiverOut(_Out):
    owner: str
    reason: str
    expires: str
    file: str
    line: int


class FindingOut(_Out):
    control: str
    title: str
    severity: Literal["info", "low", "medium", "high", "critical"]
    stage: str
    kind: str
    subject: str
    message: str
    evidence: list[EvidenceOut]
    file: str
    line: int
    column: int
    subject_file: str | None = None
    subject_line: int | None = None
    risks: list[str] = []
    waived: WaiverOut | None = None


class ControlOut(_Out):
    id: str
    title: str
    severity: str
    stage: str
    file: str
    line: int
    status: Literal["pass", "fail", "waived", "undecided"]
    subjects: int
    findings: int
    waived: int = 0
    risks: list[str] = []


class SummaryOut(_Out):
    controls: int
    passed: int
    failed: int
    findings: int
    waived: int
    by_severity: dict[str, int]
    by_kind: dict[str, int]
    artifacts: int
    steps: int
    attestations: int


class LockedOut(_Out):
    """An artifact judged from the lock only: its bytes are not materialised."""

    path: str
    algorithm: str
    digest: str
    source: str


class UndecidedOut(_Out):
    """A rule the inputs could not judge for a subject (the run exits 2)."""

    control: str
    subject: str
    message: str
    file: str
    line: int


class SupersededOut(_Out):
    """A signed statement about bytes its subject no longer has: history, not a verdict."""

    file: str
    subject: str
    predicate_type: str


class ReportOut(_Out):
    schema_version: str = SCHEMA_VERSION
    tool: str = "mlpolicy"
    version: str
    policy: str
    repository: str
    summary: SummaryOut
    controls: list[ControlOut]
    findings: list[FindingOut]
    warnings: list[str] = []
    judged_from_lock: list[LockedOut] = []  # not materialised: inherits DVC's md5
    undecided: list[UndecidedOut] = []
    superseded: list[SupersededOut] = []  # history: never a failure, never a pass
