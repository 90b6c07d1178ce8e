"""Markdown output: a short summary fit for a pull-request comment or a CI job summary.

Counts first, then the findings in tables: for `mlpolicy diff`, new findings
first, then fixed ones, and the unchanged ones collapsed in ``<details>``.
Text from the repository (subjects, messages, file names) is escaped so that it
can neither break a table (``|``, new lines) nor open code spans, links or
HTML: subjects are code spans fenced longer than any backtick run they contain.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from policy_engine.evaluate import Finding
from policy_engine.lifecycle import SEVERITIES
from policy_engine.report import policy_change
from policy_engine.report.counts import counts
from policy_engine.results import CheckResult

if TYPE_CHECKING:
    from policy_engine.results import DiffResult

MAX_ROWS = 50  # per table: a pull-request comment has a size limit
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_HEADER = "| severity | control | subject | finding | rule |\n|---|---|---|---|---|"


def render_markdown(result: CheckResult, repository: str) -> str:
    """Markdown for `mlpolicy check`."""
    findings, c = result.evaluation.findings, counts(result.evaluation)
    status = f"❌ {_count(c.findings, 'finding')}" if c.findings else "✅ passed"
    if c.waived:
        status += f" ({c.waived} waived)"
    lines = [
        f"### mlpolicy check: {status}",
        "",
        f"Policy {code(result.policy.name)} on {code(repository)}: "
        f"{c.controls} controls, {c.failed} failing"
        + (f"; {c.severities_text()}" if c.findings else ""),
    ]
    if findings:
        lines += ["", *_table(findings)]
    return "\n".join(lines) + "\n"


def render_markdown_diff(diff: DiffResult) -> str:
    """Markdown for `mlpolicy diff`: new, then fixed, then unchanged (collapsed)."""
    lines = [f"### mlpolicy diff: {_status(diff)}", "", _revisions(diff), "", _counts(diff)]
    lines += [f"> {escape(note)}" for note in diff.notes]
    lines += _policy_change(diff)
    lines += _section("New", diff.new)
    lines += _section("Fixed", diff.fixed)
    if diff.unchanged:
        label = _count(len(diff.unchanged), "unchanged finding")
        lines += ["", f"<details><summary>{label}</summary>", "", *_table(diff.unchanged)]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _status(diff: DiffResult) -> str:
    failing = diff.failing
    changed = "the policy changed" if diff.policy_change_fails else ""
    if failing:
        which = "finding" if diff.fail_on_unchanged else "new finding"
        status = f"❌ {_count(len(failing), which)} at or above `{diff.fail_on}`"
        return status + (f", and {changed}" if changed else "")
    if changed:
        return f"❌ {changed}"
    return "✅ no new finding" + (f" at or above `{diff.fail_on}`" if diff.new else "")


def _policy_change(diff: DiffResult) -> list[str]:
    change = diff.policy_change
    if change is None:
        return []
    lines = ["", "#### Policy change", "", f"This change {escape(policy_change.status(diff))}.", ""]
    if not change.base_has_policy:
        lines.append("- the base has no policy")
    for label, names in change.parts():
        lines.append(f"- {label}: " + ", ".join(code(n) for n in names))
    return lines


def _revisions(diff: DiffResult) -> str:
    base = f"{code(diff.base.label)} ({_short(diff.base.commit)})"
    head = code(diff.head.label) if diff.head.ref is not None else "the working tree"
    head += f" ({_short(diff.head.commit)}" + (
        ", with uncommitted changes)" if diff.head.dirty else ")"
    )
    return f"{code(diff.repository)}: {base} → {head}, policy {code(diff.result.policy.name)}"


def _counts(diff: DiffResult) -> str:
    return (
        f"**{len(diff.new)} new** · {len(diff.fixed)} fixed · {len(diff.unchanged)} unchanged"
        + (f" · new: {_by_severity(diff.new)}" if diff.new else "")
    )


def _section(title: str, findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return []
    return ["", f"#### {title} ({len(findings)})", "", *_table(findings)]


def _table(findings: Sequence[Finding]) -> list[str]:
    rows = [_HEADER, *(_row(f) for f in findings[:MAX_ROWS])]
    if len(findings) > MAX_ROWS:
        rows += ["", f"… and {len(findings) - MAX_ROWS} more (see `--format json`)"]
    return rows


def _row(finding: Finding) -> str:
    loc = finding.location
    cells = (
        finding.severity + (" (waived)" if finding.waived else ""),
        code(finding.control, table=True),
        code(finding.subject, table=True),
        message(finding.message),
        code(f"{loc.file}:{loc.line}", table=True),
    )
    return "| " + " | ".join(cells) + " |"


def _by_severity(findings: Sequence[Finding]) -> str:
    counts = Counter(f.severity for f in findings if not f.waived)
    return ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "no commit"


def escape(text: str) -> str:
    """``text`` as literal Markdown inline text: one line, every special character escaped."""
    return _SPECIAL.sub(r"\\\1", _one_line(text))


def message(text: str) -> str:
    """A finding's message for a table cell: its balanced `quoted` parts as code spans, the
    rest escaped; a message with an odd number of backticks is escaped whole."""
    parts = _one_line(text).split("`")
    if len(parts) % 2 == 0:
        return escape(text)
    return "".join(_quoted(part) if n % 2 else escape(part) for n, part in enumerate(parts))


def _quoted(part: str) -> str:
    return code(part, table=True) if part else "\\`\\`"


def code(text: str, table: bool = False) -> str:
    """``text`` as a code span that survives the backticks in it (and pipes, in a table cell)."""
    text = _one_line(text)
    if table:  # GitHub splits table cells at every unescaped pipe, even inside code spans
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text
