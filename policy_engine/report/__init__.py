"""Reporters: one function per output format, each ``(result, options) -> str``."""

from __future__ import annotations

from collections.abc import Callable

from policy_engine.api import CheckResult
from policy_engine.report.json_report import render_json
from policy_engine.report.text_report import render_text

Reporter = Callable[[CheckResult, str], str]

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
}

__all__ = ["REPORTERS", "Reporter"]
