"""Markdown for pull-request comments: counts, tables, and text that cannot break them."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from policy_engine.report.markdown import code, render_markdown, render_markdown_diff
from policy_engine.results import CheckResult, LoadedPolicy

Tampered = tuple[LoadedPolicy, CheckResult]
COLUMNS = 5


def cells(row: str) -> list[str]:
    """A GFM table row split at its unescaped pipes."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]


def test_check_summary_counts_and_lists_every_finding(tampered: Tampered) -> None:
    text = render_markdown(tampered[1], "fixtures/example-ml-tampered")
    assert text.startswith("### mlpolicy check: ❌ 5 findings\n")
    assert "5 controls, 3 failing; 1 critical, 4 high" in text
    body = rows(text)[1:]
    assert len(body) == 5
    assert all(len(cells(r)) == COLUMNS for r in body)


def test_diff_puts_new_first_then_fixed_and_collapses_unchanged(make_diff: Any) -> None:
    text = render_markdown_diff(make_diff())
    assert text.startswith("### mlpolicy diff: ❌ 2 new findings at or above `low`\n")
    assert "**2 new** · 1 fixed · 2 unchanged" in text
    assert "with uncommitted changes" in text
    new, fixed = text.index("#### New (2)"), text.index("#### Fixed (1)")
    details = text.index("<details><summary>2 unchanged findings</summary>")
    assert new < fixed < details < text.index("</details>")
    assert "DE-01" in text[new:fixed] and "TR-02" in text[fixed:details]


def test_a_clean_diff_says_so(make_diff: Any) -> None:
    diff = make_diff()
    clean = replace(diff, new=(), fixed=(), unchanged=())
    assert render_markdown_diff(clean).startswith("### mlpolicy diff: ✅ no new finding\n")


def test_pipes_backticks_and_html_cannot_break_a_row(tampered: Tampered) -> None:
    _, result = tampered
    odd = replace(
        result.evaluation.findings[0],
        subject="a|b`c``d",
        message="x | y `z|w` <script>alert(1)</script> [l](http://e) `unbalanced\nline",
    )
    table_rows = rows(
        render_markdown(
            replace(result, evaluation=replace(result.evaluation, findings=(odd,))), "repo"
        )
    )
    (row,) = table_rows[1:]
    assert len(cells(row)) == COLUMNS
    assert "<script>" not in row and "\\<script\\>" in row
    assert "[l](" not in row
    assert "\n" not in row
    assert "``` a\\|b`c``d ```" in row


def test_code_spans_are_fenced_longer_than_their_backticks() -> None:
    assert code("plain") == "`plain`"
    assert code("a`b") == "`` a`b ``"
    assert code("``x") == "``` ``x ```"
    assert code("a|b") == "`a|b`" and code("a|b", table=True) == "`a\\|b`"


def test_balanced_quotes_in_messages_become_code(tampered: Tampered) -> None:
    text = render_markdown(tampered[1], "repo")
    assert "signed only by keys" in text
    assert "`attestations/featurize.b65af5b1.link`" in text
    assert "\\`attestations" not in text
