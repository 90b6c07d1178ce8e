"""The counts every format reports, computed once so that all formats agree.

A waived finding is reported but counts in no severity and fails nothing; a
control whose only findings are waived is ``waived``, not failed nor passed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from policy_engine.evaluate import ControlResult, Evaluation
from policy_engine.lifecycle import SEVERITIES


def control_status(result: ControlResult) -> str:
    """The control's status as reports name it (see :attr:`ControlResult.status`)."""
    return result.status


@dataclass(frozen=True)
class Counts:
    controls: int
    passed: int
    failed: int
    waived_controls: int
    undecided_controls: int
    findings: int  # not waived
    waived: int  # findings a current waiver covers
    by_severity: dict[str, int]  # of the findings not waived, every severity

    def severities_text(self) -> str:
        """``1 critical, 2 high``: the severities of the findings not waived, highest first."""
        ranked = reversed(SEVERITIES)
        return ", ".join(f"{self.by_severity[s]} {s}" for s in ranked if self.by_severity[s])


def counts(evaluation: Evaluation) -> Counts:
    """The counts of an evaluation, as every report states them."""
    statuses = Counter(control_status(c) for c in evaluation.controls)
    active = evaluation.active
    severities = Counter(f.severity for f in active)
    return Counts(
        controls=len(evaluation.controls),
        passed=statuses["pass"],
        failed=statuses["fail"],
        waived_controls=statuses["waived"],
        undecided_controls=statuses["undecided"],
        findings=len(active),
        waived=len(evaluation.findings) - len(active),
        by_severity={s: severities[s] for s in SEVERITIES},
    )
