"""Findings: what the evaluator reports, each with its reason and evidence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from policy_engine.compiler.ir import Location, Waiver
from policy_engine.graph.model import Evidence, SourceRef


class Kind(str, Enum):
    """What sort of problem a finding is; the four families of the product brief."""

    UNSIGNED_ARTIFACT = "unsigned-artifact"
    MISSING_LINEAGE = "missing-lineage"
    UNAUTHORIZED_STEP = "unauthorized-step"
    MISSING_EVIDENCE = "missing-evidence"
    INTEGRITY = "integrity"
    POLICY = "policy"  # a rule that held where it must not, or selected nothing


@dataclass(frozen=True)
class Verdict:
    """A predicate's answer for one subject, with why.

    ``decided`` is False when the inputs at hand cannot answer (``holds`` is then
    False and means nothing): e.g. an artifact whose bytes are not materialised
    and whose signatures name no digest the lock records.
    """

    holds: bool
    message: str
    kind: Kind
    evidence: tuple[Evidence, ...] = ()
    decided: bool = True


@dataclass(frozen=True)
class Finding:
    control: str
    title: str
    severity: str
    stage: str
    kind: Kind
    subject: str
    message: str
    evidence: tuple[Evidence, ...]
    location: Location  # the policy rule (or the policy, for built-in findings)
    subject_source: SourceRef | None = None  # where the subject is defined, e.g. dvc.yaml:12
    risks: tuple[str, ...] = ()  # the lifecycle risks the control mitigates
    waiver: Waiver | None = None  # set when a current waiver covers the finding

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.location.file, self.location.line, self.control, self.subject, self.message)


@dataclass(frozen=True)
class Undecided:
    """A rule the inputs could not judge for a subject: the run can neither pass nor fail it.

    ``finding`` is what it would report as a finding; ``message`` says why it is undecided.
    """

    finding: Finding
    message: str

    @property
    def control(self) -> str:
        return self.finding.control

    @property
    def subject(self) -> str:
        return self.finding.subject
