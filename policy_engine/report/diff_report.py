"""Text and JSON output of `mlpolicy diff`: new, fixed and unchanged findings.

The JSON's findings are the same objects as `mlpolicy check`'s; like it, it is
deterministic (no time is printed; findings keep the evaluation's order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from policy_engine import __version__
from policy_engine.evaluate import Finding
from policy_engine.report import policy_change
from policy_engine.report.json_report import finding_out
from policy_engine.report.model import SCHEMA_VERSION, FindingOut

if TYPE_CHECKING:
    from policy_engine.results import DiffResult, PolicyChange, Revision

MAX_EVIDENCE = 4


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RevisionOut(_Out):
    ref: str | None  # None: the working tree
    commit: str | None
    dirty: bool
    evaluated: bool
    reason: str | None  # why it was not evaluated


class PolicyChangeOut(_Out):
    """How the policy differs between base and head; ``fails``: it fails the diff."""

    files: list[str]
    keys: list[str]
    controls_added: list[str]
    controls_removed: list[str]
    controls_changed: list[str]
    base_has_policy: bool
    allowed: bool
    fails: bool


class DiffSummaryOut(_Out):
    new: int
    fixed: int
    unchanged: int
    failing: int


class DiffOut(_Out):
    schema_version: str = SCHEMA_VERSION
    tool: str = "mlpolicy"
    version: str
    policy: str
    repository: str
    base: RevisionOut
    head: RevisionOut
    policy_from: str
    judged_with: str
    policy_changed: bool
    policy_change: PolicyChangeOut | None
    fail_on: str
    fail_on_unchanged: bool
    notes: list[str]
    summary: DiffSummaryOut
    new: list[FindingOut]
    fixed: list[FindingOut]
    unchanged: list[FindingOut]


def _revision(revision: Revision) -> RevisionOut:
    return RevisionOut(
        ref=revision.ref,
        commit=revision.commit,
        dirty=revision.dirty,
        evaluated=revision.evaluated,
        reason=revision.reason,
    )


def _policy_change(diff: DiffResult, change: PolicyChange | None) -> PolicyChangeOut | None:
    if change is None:
        return None
    return PolicyChangeOut(
        files=list(change.files),
        keys=list(change.keys),
        controls_added=list(change.added),
        controls_removed=list(change.removed),
        controls_changed=list(change.changed),
        base_has_policy=change.base_has_policy,
        allowed=diff.allow_policy_change,
        fails=diff.policy_change_fails,
    )


def diff_model(diff: DiffResult) -> DiffOut:
    """The JSON document of a comparison."""
    return DiffOut(
        version=__version__,
        policy=diff.result.policy.name,
        repository=diff.repository,
        base=_revision(diff.base),
        head=_revision(diff.head),
        policy_from=diff.policy_from,
        judged_with=diff.judged_with,
        policy_changed=diff.policy_changed,
        policy_change=_policy_change(diff, diff.policy_change),
        fail_on=diff.fail_on,
        fail_on_unchanged=diff.fail_on_unchanged,
        notes=list(diff.notes),
        summary=DiffSummaryOut(
            new=len(diff.new),
            fixed=len(diff.fixed),
            unchanged=len(diff.unchanged),
            failing=len(diff.failing),
        ),
        new=[finding_out(f) for f in diff.new],
        fixed=[finding_out(f) for f in diff.fixed],
        unchanged=[finding_out(f) for f in diff.unchanged],
    )


def render_json_diff(diff: DiffResult) -> str:
    return diff_model(diff).model_dump_json(indent=2) + "\n"


def render_text_diff(diff: DiffResult) -> str:
    """For a terminal: the revisions, any notes, then new, fixed and unchanged findings."""
    base, head = diff.base, diff.head
    lines = [
        f"mlpolicy diff {diff.repository}: {_side(base.label, base.commit, False)} -> "
        f"{_side(head.label, head.commit, head.dirty)}, policy `{diff.result.policy.name}`",
        *(f"note: {note}" for note in diff.notes),
        *_change_line(diff),
        "",
    ]
    lines += _section("New", diff.new, evidence=True)
    lines += _section("Fixed", diff.fixed, evidence=False)
    lines += _section("Unchanged", diff.unchanged, evidence=False)
    lines.append(_verdict(diff))
    return "\n".join(lines) + "\n"


def _change_line(diff: DiffResult) -> list[str]:
    if diff.policy_change is None:
        return []
    return [f"policy change: {policy_change.summary(diff, diff.policy_change)}"]


def _side(label: str, commit: str | None, dirty: bool) -> str:
    details = [commit[:12]] if commit else []
    details += ["uncommitted changes"] if dirty else []
    return f"{label} ({', '.join(details)})" if details else label


def _section(title: str, findings: Sequence[Finding], evidence: bool) -> list[str]:
    if not findings:
        return []
    lines = [f"{title} ({len(findings)})"]
    for f in findings:
        loc = f.location
        waived = " (waived)" if f.waived else ""
        lines.append(f"  [{f.severity}]{waived} {f.control}  {f.subject}: {f.message}")
        defined = f" · defined at {f.subject_source}" if f.subject_source else ""
        lines.append(f"      {f.kind.value} · {loc.file}:{loc.line}:{loc.column}{defined}")
        shown = f.evidence[:MAX_EVIDENCE] if evidence else ()
        for e in shown:
            where = f"  ({e.source})" if e.source else ""
            lines.append(f"      {e.label}: {e.value}{where}")
        if evidence and len(f.evidence) > MAX_EVIDENCE:
            lines.append(f"      … {len(f.evidence) - MAX_EVIDENCE} more (see --format json)")
    return [*lines, ""]


def _verdict(diff: DiffResult) -> str:
    counts = f"{len(diff.new)} new, {len(diff.fixed)} fixed, {len(diff.unchanged)} unchanged"
    failing = diff.failing
    scope = "new or unchanged" if diff.fail_on_unchanged else "new"
    changed = ", and the policy changed" if diff.policy_change_fails else ""
    if failing:
        return f"{counts}: FAIL, {len(failing)} {scope} at or above `{diff.fail_on}`{changed}"
    if changed:
        return f"{counts}: FAIL, the policy changed (nothing {scope} at or above `{diff.fail_on}`)"
    return f"{counts}: pass, nothing {scope} at or above `{diff.fail_on}`"
