"""What the diff page adds to the head's report: the revisions, the counts, the policy change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from policy_engine.report import policy_change
from policy_engine.report.html.page import escape

if TYPE_CHECKING:
    from policy_engine.results import DiffResult, Revision


def comparison(diff: DiffResult) -> str:
    """A panel above the report: base and head, new/fixed/unchanged, notes, the policy change."""
    verdict = "fail" if diff.fails else "pass"
    words = "fails" if diff.fails else "passes"
    lines = [
        f"{_side(diff.base)} → {_side(diff.head)}",
        f"{len(diff.new)} new · {len(diff.fixed)} fixed · {len(diff.unchanged)} unchanged "
        f"(gate: new findings at or above {diff.fail_on})",
        *diff.notes,
    ]
    if diff.policy_change is not None:
        lines.append("policy change: " + policy_change.summary(diff, diff.policy_change))
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (
        f'<section class="panel comparison"><h2>mlpolicy diff <span class="pill {verdict}">'
        f'{words}</span></h2><ul class="plain">{items}</ul></section>'
    )


def fixed(diff: DiffResult) -> list[str]:
    """The base's findings the head no longer has, one line each."""
    return [f"{f.control} on {f.subject}: {f.message}" for f in diff.fixed]


def _side(revision: Revision) -> str:
    commit = f" ({revision.commit[:12]})" if revision.commit else ""
    dirty = " with uncommitted changes" if revision.dirty else ""
    return f"{revision.label}{commit}{dirty}"
