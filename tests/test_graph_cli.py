"""`mlpolicy graph`: the provenance graph exported as JSON, DOT, Mermaid or one HTML page."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy_engine.cli import main

pytestmark = pytest.mark.slow  # the command end to end, over real repositories

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COMPLIANT = FIXTURES / "example-ml"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(tmp_path / "hash-cache"))


def mlpolicy(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_json_export_is_deterministic_and_says_which_keys_were_trusted(tmp_path: Path) -> None:
    outputs = []
    for n in range(2):
        target = tmp_path / f"graph{n}.json"
        result = mlpolicy("graph", COMPLIANT, "--output", target, *(["--no-cache"] if n else []))
        assert result.exit_code == 0, result.output
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    graph = json.loads(outputs[0])
    assert graph["trust"]["policy"] is True
    assert [k.split(" ")[0] for k in graph["trust"]["trusted_keys"]] == [
        "data_engineer",
        "ml_engineer",
    ]
    ids = [n["id"] for n in graph["nodes"]]
    assert ids == sorted(ids)
    nodes = {n["id"]: n for n in graph["nodes"]}
    model = nodes["artifact:models/model.json"]
    assert model["workspace"]["sha256"] and model["claims"]
    link = nodes["attestation:attestations/train.b42f01f9.link"]
    assert link["signatures"][0]["status"] == "valid" and link["signers"]
    assert nodes["step:train"]["defined_in"].startswith("dvc.yaml:")
    kinds = {e["kind"] for e in graph["edges"]}
    assert {"input", "output", "material", "product", "attests", "signed"} <= kinds
    assert any(e["digest"] for e in graph["edges"] if e["kind"] == "output")


def test_without_a_policy_every_signature_is_untrusted_and_it_says_so(tmp_path: Path) -> None:
    repo = Path(shutil.copytree(COMPLIANT, tmp_path / "repo"))
    shutil.rmtree(repo / "policies")
    result = mlpolicy("graph", repo, "--attestations", repo / "attestations")
    assert result.exit_code == 0, result.output
    assert "every signature is UNTRUSTED" in result.stderr
    graph = json.loads(result.stdout)
    assert graph["trust"] == {
        "policy": False,
        "trusted_keys": [],
        "summary": "no policy found: built with no trusted keys, so every signature is UNTRUSTED",
    }
    statuses = {
        s["status"] for n in graph["nodes"] if n["kind"] == "attestation" for s in n["signatures"]
    }
    assert statuses == {"untrusted"}


@pytest.mark.parametrize(
    ("fmt", "start", "fragment"),
    [
        ("dot", "// signatures checked", "digraph provenance {"),
        ("mermaid", "%% signatures checked", "flowchart LR"),
        ("html", "<!DOCTYPE html>", "Provenance graph"),
    ],
)
def test_other_formats(fmt: str, start: str, fragment: str) -> None:
    result = mlpolicy("graph", COMPLIANT, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(start) and fragment in result.stdout
    assert "models/model.json" in result.stdout
    assert mlpolicy("graph", COMPLIANT, "--format", fmt).stdout == result.stdout


def test_html_is_self_contained() -> None:
    page = mlpolicy("graph", COMPLIANT, "--format", "html").stdout
    lowered = page.lower()
    for loader in ("<link", "<img", "<iframe", "<object", " src=", " href=", "url(", "@import"):
        assert loader not in lowered, loader  # nothing is fetched: text is escaped, tags are ours
    assert lowered.count("<script") == 2  # the JSON data block and the page's own script
    assert "default-src 'none'" in html.unescape(page) and '<svg class="graph"' in page


def test_mermaid_and_dot_escape_labels(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "att").mkdir(parents=True)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": 'we"ird<file>.txt', "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://example.com/x/v1",
    }
    (repo / 'we"ird<file>.txt').write_text("x")
    (repo / "att" / "s.json").write_text(json.dumps(statement))
    mermaid = mlpolicy("graph", repo, "--attestations", repo / "att", "--format", "mermaid").stdout
    assert "we#quot;ird#lt;file#gt;.txt" in mermaid
    dot = mlpolicy("graph", repo, "--attestations", repo / "att", "--format", "dot").stdout
    assert 'we\\"ird<file>.txt' in dot
    page = mlpolicy("graph", repo, "--attestations", repo / "att", "--format", "html").stdout
    assert "we&quot;ird&lt;file&gt;.txt" in page and "<file>" not in page


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not present at {CORPUS}")
def test_layouts_and_notes_are_exported() -> None:
    golang = CORPUS / "in-toto-golang" / "test" / "data"
    result = mlpolicy("graph", golang, "--attestations", golang / "demo.layout")
    graph = json.loads(result.stdout)
    (layout,) = graph["layouts"]
    assert layout["file"] == "demo.layout" and layout["expires"] == "2030-11-18T16:06:36+00:00"
    assert [s["name"] for s in layout["steps"]] == ["write-code", "package"]
    assert [i["run"] for i in layout["inspections"]] == [["tar", "xfz", "foo.tar.gz"]]


def test_inputs_it_cannot_judge_exit_2(tmp_path: Path) -> None:
    assert mlpolicy("graph", tmp_path / "missing").exit_code == 2
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "bad.policy").write_text("policy\n")
    result = mlpolicy("graph", repo)
    assert result.exit_code == 2 and "invalid" in result.stderr
    (repo / "att.json").write_text('{"_type": "link"}')
    shutil.rmtree(repo / "policies")
    result = mlpolicy("graph", repo, "--attestations", repo / "att.json")
    assert result.exit_code == 2 and "att.json" in result.stderr


def test_check_no_cache_writes_no_cache(tmp_path: Path) -> None:
    assert mlpolicy("check", COMPLIANT, "--no-cache").exit_code == 0
    assert not (tmp_path / "hash-cache").exists()
    assert mlpolicy("check", COMPLIANT).exit_code == 0
    assert (tmp_path / "hash-cache" / "hashes.sqlite3").is_file()
