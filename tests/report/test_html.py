"""The HTML report: its structure, escaping, determinism and the data it embeds."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from policy_engine.graph.export import EXPORTERS
from policy_engine.graph.model import Evidence, ProvenanceGraph, SourceRef, Step
from policy_engine.graph.view import Marks
from policy_engine.report import DIFF_REPORTERS, REPORTERS
from policy_engine.report.html import render_graph_html
from policy_engine.report.html.page import script_json
from policy_engine.report.marks import marks_for
from policy_engine.results import CheckResult, LoadedPolicy

Tampered = tuple[LoadedPolicy, CheckResult]
HOSTILE = "<script>alert(1)</script>"
REPO = "fixtures/example-ml-tampered"


def render(result: CheckResult) -> str:
    return REPORTERS["html"](result, REPO)


def embedded(page: str) -> Any:
    block = re.search(r'<script type="application/json" id="mlpolicy-data">(.*?)</script>', page)
    assert block is not None
    return json.loads(block[1])


def nodes_marked(page: str, status: str) -> list[str]:
    pattern = rf'<g class="node \w+ {status}" data-node="([^"]+)"'
    return sorted(html.unescape(n) for n in re.findall(pattern, page))


def test_the_page_has_stages_findings_and_the_drawing(tampered: Tampered) -> None:
    page = render(tampered[1])
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    stages = re.findall(r'<div class="stage (\w+)" data-stage="(\w+)">', page)
    assert stages == [
        ("fail", "data_preparation"),
        ("fail", "model_training"),
        ("fail", "model_deployment"),
        ("fail", "secure_pipelines"),
    ]
    assert page.count('<article class="finding fail"') == 5
    assert page.count('<g class="node ') == 19  # 14 artifacts and 5 steps
    assert nodes_marked(page, "fail") == [
        "artifact:data/features/train.csv",
        "artifact:models/model.json",
        "step:featurize",
    ]
    assert "signed by ml_engineer" in page and "untrusted key b65af5b16408" in page


def test_findings_point_at_their_subjects_in_the_drawing(tampered: Tampered) -> None:
    page = render(tampered[1])
    subjects = re.findall(
        r'<article class="finding \w+" id="finding-\d+" [^>]*data-node="([^"]+)"', page
    )
    assert sorted(set(subjects)) == nodes_marked(page, "fail")
    for node in subjects:
        assert f'<section class="details" data-node="{node}" hidden>' in page


def test_the_json_report_and_the_drawing_are_embedded(tampered: Tampered) -> None:
    result = tampered[1]
    data = embedded(render(result))
    assert data["report"] == json.loads(REPORTERS["json"](result, REPO))
    drawn = {n["id"]: n for n in data["drawing"]["nodes"]}
    assert drawn["step:train"]["layer"] == drawn["artifact:models/model.json"]["layer"] - 1
    failing = {
        (e["source"], e["target"]) for e in data["drawing"]["edges"] if e["status"] == "fail"
    }
    assert failing == {
        ("artifact:data/features/train.csv", "step:train"),
        ("artifact:models/model.json", "step:evaluate"),
        ("step:train", "artifact:models/model.json"),
    }


def test_the_same_inputs_give_the_same_bytes(tampered: Tampered, evaluate: Any) -> None:
    assert render(tampered[1]) == render(evaluate()[1])


def test_the_security_policy_names_the_page_own_style_and_script(tampered: Tampered) -> None:
    page = render(tampered[1])
    policy = html.unescape(re.search(r'Content-Security-Policy" content="([^"]+)"', page)[1])
    assert policy.startswith("default-src 'none'; ")
    style = re.search(r"<style>(.*?)</style>", page, re.S)[1]
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(script) == 1 and page.count("<script") == 2
    for source, text in (("style-src", style), ("script-src", script[0])):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{source} 'sha256-{digest}'" in policy


def test_hostile_text_from_the_inputs_is_text(tampered: Tampered) -> None:
    result = tampered[1]
    evidence = (Evidence(HOSTILE, HOSTILE, HOSTILE),)
    findings = tuple(
        replace(f, message=f"`{HOSTILE}` {HOSTILE}", evidence=evidence, title=HOSTILE)
        for f in result.evaluation.findings
    )
    page = render(replace(result, evaluation=replace(result.evaluation, findings=findings)))
    assert HOSTILE not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert embedded(page)["report"]["findings"][0]["message"] == f"`{HOSTILE}` {HOSTILE}"


def test_a_hostile_step_name_is_drawn_as_text() -> None:
    graph = ProvenanceGraph("repo")
    graph.add_step(Step(HOSTILE, SourceRef("dvc.yaml", 3), cmd=(f'echo "{HOSTILE}"',)))
    graph.add_input('a"b<c>.csv', HOSTILE, {"md5": "0" * 32}, SourceRef("dvc.lock", 4))
    page = render_graph_html(graph, {"summary": HOSTILE}, Marks())
    assert HOSTILE not in page and "<c>" not in page
    assert f'data-node="step:{html.escape(HOSTILE)}"' in page
    assert f'<text x="95" y="18">{html.escape(HOSTILE)}</text>' in page
    assert embedded(page)["graph"]["nodes"][1]["name"] == HOSTILE


def test_the_data_block_cannot_be_closed_from_inside() -> None:
    text = script_json({"x": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"x": "</script><!-- & \u2028"}


def test_the_diff_page_tags_new_findings_and_lists_fixed_ones(make_diff: Any) -> None:
    page = DIFF_REPORTERS["html"](make_diff())
    assert page.count('<span class="pill new">new</span>') == 2
    assert "Fixed since main (1)" in page and "2 new · 1 fixed" in page


def test_dot_and_mermaid_share_the_colours_and_key_names(tampered: Tampered) -> None:
    loaded, result = tampered
    marks = marks_for(result.graph, loaded.policy, result)
    mermaid = EXPORTERS["mermaid"](result.graph, {"summary": ""}, marks)
    dot = EXPORTERS["dot"](result.graph, {"summary": ""}, marks)
    assert "key ml_engineer" in mermaid and "signed by data_engineer" in dot
    assert "classDef fail stroke:#cf222e,stroke-width:3px" in mermaid
    assert re.search(r"\n  class (n\d+,){2}n\d+ fail\n", mermaid)
    assert (
        '"step:featurize" [shape=ellipse, style=filled, fillcolor="#e6f4ea", color="#cf222e"' in dot
    )
    assert (
        '"artifact:data/features/train.csv" -> "step:train" [label="input", color="#cf222e"]' in dot
    )


def test_without_marks_nothing_is_failing(tampered: Tampered) -> None:
    graph = tampered[1].graph
    dot = EXPORTERS["dot"](graph, {"summary": ""}, Marks())
    assert 'color="#cf222e", penwidth' not in dot and "key b42f01f9437e" in dot


def test_the_assets_ship_in_the_package() -> None:
    import policy_engine.report.html as package

    assets = Path(package.__file__).parent / "assets"
    assert {p.name for p in assets.iterdir()} >= {"page.html", "report.css", "report.js"}
