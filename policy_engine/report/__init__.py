"""Reporters: one function per output format, each ``(result, options) -> str``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from policy_engine.report.diff_report import render_json_diff, render_text_diff
from policy_engine.report.html import render_html, render_html_diff
from policy_engine.report.json_report import render_json
from policy_engine.report.junit import render_junit, render_junit_diff
from policy_engine.report.markdown import render_markdown, render_markdown_diff
from policy_engine.report.sarif import render_sarif, render_sarif_diff
from policy_engine.report.text_report import render_text
from policy_engine.results import CheckResult

if TYPE_CHECKING:
    from policy_engine.results import DiffResult

Reporter = Callable[[CheckResult, str], str]
DiffReporter = Callable[["DiffResult"], str]

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
}

# `mlpolicy diff`: the same formats, over new, fixed and unchanged findings.
DIFF_REPORTERS: dict[str, DiffReporter] = {
    "text": render_text_diff,
    "json": render_json_diff,
    "sarif": render_sarif_diff,
    "junit": render_junit_diff,
    "markdown": render_markdown_diff,
    "html": render_html_diff,
}

__all__ = ["DIFF_REPORTERS", "REPORTERS", "DiffReporter", "Reporter"]
