"""Small things that decide trust: parser help, predicate fields, SARIF text and locations,
waived findings counted alike in every format, a closed pipe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from policy_engine.api import check, load_policy
from policy_engine.language import parse_text
from policy_engine.report import REPORTERS
from policy_engine.report.counts import counts

ROOT = Path(__file__).resolve().parents[2]
TAMPERED = ROOT / "fixtures" / "example-ml-tampered"
AT = datetime(2026, 11, 20, tzinfo=timezone.utc)
HEAD = 'policy "t"\ncontrol C-01 "x" {\n  severity high\n  stage model_training\n'


def _helps(text: str) -> list[str | None]:
    return [d.help for d in parse_text(text, "p.policy").diagnostics]


def test_a_misspelt_keyword_is_named_instead_of_the_expected_tokens() -> None:
    text = HEAD + "  require every artifact of kind model derive from artifacts of kind data\n}\n"
    assert _helps(text) == ["did you mean `derives`?"]


def test_a_long_list_of_expected_tokens_is_cut_to_a_few_words() -> None:
    (help_text,) = _helps(HEAD + "  require every artifact of kind model zzz\n}\n")
    assert help_text is not None
    assert help_text.startswith("expected one of ") and "such as `and`" in help_text
    assert help_text.count("`") <= 12


def _compile(tmp_path: Path, where: str) -> list[tuple[str, str, str | None]]:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    shutil.copy(ROOT / "fixtures" / "keys" / "ml-engineer.pub", keys / "k.pub")
    rule = (
        "  require every artifact of kind model\n"
        '    is attested with "https://mlpolicy.dev/attestation/validation/v1" by r\n'
        f"      where {where}\n}}\n"
    )
    policy = tmp_path / "p.policy"
    policy.write_text('key k from "keys/k.pub"\nrole r = k\n' + HEAD + rule)
    loaded = load_policy([policy], tmp_path, lower=False)
    return [(d.code, d.message, d.help) for d in loaded.diagnostics]


def test_a_misspelt_predicate_field_is_an_error_naming_the_schema_field(tmp_path: Path) -> None:
    diagnostics = _compile(tmp_path, "generalisation_gap <= 0.05")
    assert ("E118", "did you mean `generalization_gap`?") in [(c, h) for c, _, h in diagnostics]


def test_a_field_the_schema_lacks_is_a_warning_listing_its_fields(tmp_path: Path) -> None:
    diagnostics = _compile(tmp_path, "frobnicate == 1")
    (warning,) = [d for d in diagnostics if d[0] == "W207"]
    assert "`generalization_gap`" in (warning[2] or "")
    assert not any(code.startswith("E") for code, _, _ in diagnostics)


def test_schema_fields_and_aliases_are_accepted(tmp_path: Path) -> None:
    assert _compile(tmp_path, "generalization_gap <= 0.05, timestamp exists") == []


def _pack_repo(tmp_path: Path) -> Path:
    repo = Path(shutil.copytree(TAMPERED, tmp_path / "repo"))
    (repo / "policies" / "pack.policy").write_text(
        'import "@mlpolicy/mlsecops.policy" with data_team = data_team, ml_team = ml_team,\n'
        "  ops_team = ml_team, security_team = data_team\n"
    )
    return repo


def _result(repo: Path):  # type: ignore[no-untyped-def]
    loaded = load_policy([repo / "policies"], repo)
    assert loaded.policy is not None, loaded.diagnostics
    return check(loaded.policy, repo, (), AT)


def test_sarif_messages_are_plain_text_and_pack_rules_are_logical_locations(
    tmp_path: Path,
) -> None:
    result = _result(_pack_repo(tmp_path))
    sarif = REPORTERS["sarif"](result, "repo")
    assert "%40mlpolicy" not in sarif and "\\\\[" not in sarif
    run = json.loads(sarif)["runs"][0]
    pack = [r for r in run["results"] if r["ruleId"].startswith("MLS-")]
    assert pack and all("[risk: " in r["message"]["text"] for r in pack)
    for r in pack:
        for location in r["locations"]:
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
            assert (tmp_path / uri).is_file(), uri
        for related in r.get("relatedLocations", []):
            if "logicalLocations" in related:
                name = related["logicalLocations"][0]["fullyQualifiedName"]
                assert name.startswith("@mlpolicy/mlsecops.policy:")
                assert "physicalLocation" not in related


def test_a_waived_finding_is_counted_alike_in_every_format(tmp_path: Path) -> None:
    repo = Path(shutil.copytree(TAMPERED, tmp_path / "repo"))
    (repo / "policies" / "waive.policy").write_text(
        'waive DE-01 for "models/model.json" {\n  owner "ml-lead"\n'
        '  reason "retrained, signing in progress"\n  expires 2027-01-01\n}\n'
    )
    result = _result(repo)
    c = counts(result.evaluation)
    assert c.waived == 1
    report = json.loads(REPORTERS["json"](result, "repo"))
    assert report["summary"]["waived"] == 1
    assert report["summary"]["by_severity"] == c.by_severity
    text = REPORTERS["text"](result, "repo")
    assert f"{c.findings} findings ({c.severities_text()}), 1 waived" in text
    markdown = REPORTERS["markdown"](result, "repo")
    assert "(1 waived)" in markdown and c.severities_text() in markdown
    junit = REPORTERS["junit"](result, "repo")
    assert 'skipped="1"' in junit
    sarif = json.loads(REPORTERS["sarif"](result, "repo"))["runs"][0]["results"]
    assert sum("suppressions" in r for r in sarif) == 1


def test_a_closed_pipe_ends_quietly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    command = [sys.executable, "-m", "policy_engine", "test", "--repo", "fixtures/example-ml"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "error" not in stderr and "Traceback" not in stderr
