"""The HTML report in a real browser: Debian's headless Chromium, driven over DevTools.

The tampered example's page is opened from a file: it renders, the drawing has
the pipeline's artifacts and steps, the failing ones are marked, a click on a
finding selects its subject in the drawing, and the page asks the network for
nothing (and could not: its Content-Security-Policy refuses). A screenshot is
saved in the test's temporary folder; with ``MLPOLICY_SCREENSHOT=FILE`` set it is
also written to FILE (how docs/images/report.png is made).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cdp import Browser, chromium

from policy_engine.report import REPORTERS
from policy_engine.results import CheckResult, LoadedPolicy

Tampered = tuple[LoadedPolicy, CheckResult]

EXECUTABLE = chromium()
pytestmark = pytest.mark.skipif(
    EXECUTABLE is None,
    reason="no chromium on this machine (apt-get install chromium; .ci/run installs it)",
)
WIDTH, HEIGHT = 1400, 1000


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    assert EXECUTABLE is not None
    opened = Browser(EXECUTABLE, tmp_path / "profile")
    yield opened
    opened.close()


def _open(browser: Browser, page: Path) -> None:
    for domain in ("Page", "Network", "Runtime", "Log"):
        browser.send(f"{domain}.enable")
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        width=WIDTH,
        height=HEIGHT,
        deviceScaleFactor=1,
        mobile=False,
    )
    browser.send("Page.navigate", url=page.as_uri())
    browser.wait_for("Page.loadEventFired")


def _events(browser: Browser, method: str) -> list[dict]:
    return [e["params"] for e in browser.events if e.get("method") == method]


def test_the_tampered_report_in_chromium(
    browser: Browser, tampered: Tampered, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(REPORTERS["html"](tampered[1], "fixtures/example-ml-tampered"))
    _open(browser, page)

    drawn = browser.evaluate(
        "[...document.querySelectorAll('svg.graph .node')].map(n => n.dataset.node)"
    )
    assert len(drawn) == 19 and "step:train" in drawn and "artifact:models/model.json" in drawn
    failing = browser.evaluate(
        "[...document.querySelectorAll('svg.graph .node.fail')].map(n => n.dataset.node).sort()"
    )
    assert failing == [
        "artifact:data/features/train.csv",
        "artifact:models/model.json",
        "step:featurize",
    ]
    assert (
        browser.evaluate("getComputedStyle(document.querySelector('.node.fail rect')).stroke")
        == "rgb(207, 34, 46)"
    )
    red = browser.evaluate(
        "[...document.querySelectorAll('.edge.fail')]"
        ".map(e => e.dataset.source + ' ' + e.dataset.target)"
    )
    assert "artifact:data/features/train.csv step:train" in red
    assert browser.evaluate("document.querySelectorAll('.stage.fail').length") == 4

    x, y = browser.evaluate(
        "(() => { const f = [...document.querySelectorAll('.finding')].find("
        "a => a.dataset.control === 'DE-01'); f.scrollIntoView({block: 'center'});"
        " const r = f.querySelector('p').getBoundingClientRect();"
        " return [r.x + 10, r.y + r.height / 2]; })()"
    )
    browser.click(x, y)
    selected = browser.evaluate(
        "[...document.querySelectorAll('svg.graph .node.selected')].map(n => n.dataset.node)"
    )
    assert selected == ["artifact:models/model.json"]
    shown = browser.evaluate(
        "[...document.querySelectorAll('.details')].filter(d => !d.hidden).map(d => d.dataset.node)"
    )
    assert shown == ["artifact:models/model.json"]
    browser.evaluate("window.scrollTo(0, 0)")  # the summary, the first findings, the selection
    browser.screenshot(tmp_path / "report.png")
    if os.environ.get("MLPOLICY_SCREENSHOT"):
        shutil.copyfile(tmp_path / "report.png", os.environ["MLPOLICY_SCREENSHOT"])

    requests = [r["request"]["url"] for r in _events(browser, "Network.requestWillBeSent")]
    assert requests == [page.as_uri()]  # the page itself, and nothing else
    problems = [e["entry"]["text"] for e in _events(browser, "Log.entryAdded")]
    assert not problems and not _events(browser, "Runtime.exceptionThrown")


def test_the_page_may_not_fetch(browser: Browser, tampered: Tampered, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(REPORTERS["html"](tampered[1], "fixtures/example-ml-tampered"))
    _open(browser, page)
    outcome = browser.evaluate(
        "fetch('http://127.0.0.1:9/x').then(() => 'fetched', e => 'refused: ' + e.name)"
    )
    assert outcome == "refused: TypeError"
    violations = [e["entry"]["text"] for e in _events(browser, "Log.entryAdded")]
    assert any("Content Security Policy" in v for v in violations), violations
