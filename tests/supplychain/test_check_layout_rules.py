"""`mlpolicy check` runs the supply chain checker over the layouts a policy trusts.

The layout's artifact rules, commands and inspections become ``in-toto/<code>``
findings; with DVC, a layout step of the same name as a stage is that stage.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from securesystemslib.signer import CryptoSigner

from policy_engine.cli import main

POLICY = """\
policy "layout rules"
attestations in "attestations"
key owner from "keys/owner.pub"
key ml from "keys/ml.pub"
role owners = owner
role ml_team = ml
layout "attestations/*.layout" owned by owners

control ST-01 "Pipeline steps are performed by the ML team" {
  severity high
  stage model_training
  require every step is performed by ml_team
}
"""


def public_pem(signer: CryptoSigner) -> bytes:
    key = signer._private_key.public_key()  # type: ignore[attr-defined]
    return bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))


DIGEST = hashlib.sha256(b"weights").hexdigest()


def _sign(document: dict[str, Any], signer: CryptoSigner) -> dict[str, Any]:
    from securesystemslib.formats import encode_canonical

    signed = encode_canonical(document).encode()  # type: ignore[union-attr]
    signature = signer.sign(signed)
    return {"signed": document, "signatures": [signature.to_dict()]}


def _key(signer: CryptoSigner) -> dict[str, Any]:
    key = signer.public_key
    return {"keyid": key.keyid, "keytype": key.keytype, "scheme": key.scheme, "keyval": key.keyval}


def repo_with_layout(tmp_path: Path, products_rules: list[list[str]], command: str) -> Path:
    """A repository whose trusted layout has one step, `train`, with one signed link."""
    owner, ml = CryptoSigner.generate_ed25519(), CryptoSigner.generate_ed25519()
    repo = tmp_path / "repo"
    (repo / "keys").mkdir(parents=True)
    (repo / "keys" / "owner.pub").write_bytes(public_pem(owner))
    (repo / "keys" / "ml.pub").write_bytes(public_pem(ml))
    (repo / "policies").mkdir()
    (repo / "policies" / "p.policy").write_text(POLICY)
    (repo / "model.bin").write_bytes(b"weights")
    step = {
        "_type": "step",
        "name": "train",
        "pubkeys": [ml.public_key.keyid],
        "threshold": 1,
        "expected_command": ["python", "train.py"],
        "expected_materials": [],
        "expected_products": products_rules,
    }
    layout = {
        "_type": "layout",
        "expires": "2030-01-01T00:00:00Z",
        "readme": "",
        "keys": {ml.public_key.keyid: _key(ml)},
        "steps": [step],
        "inspect": [],
    }
    link = {
        "_type": "link",
        "name": "train",
        "command": command.split(),
        "materials": {},
        "products": {"model.bin": {"sha256": DIGEST}},
        "byproducts": {},
        "environment": {},
    }
    folder = repo / "attestations"
    folder.mkdir()
    (folder / "root.layout").write_text(json.dumps(_sign(layout, owner)))
    (folder / f"train.{ml.public_key.keyid[:8]}.link").write_text(json.dumps(_sign(link, ml)))
    return repo


def check(repo: Path) -> tuple[int, list[dict[str, Any]]]:
    report = repo.parent / "report.json"
    argv = ["check", str(repo), "--format", "json", "--output", str(report), "--at", "2026-01-01"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(report.read_text())["findings"]


def test_a_trusted_layout_whose_rules_hold_passes(tmp_path: Path) -> None:
    repo = repo_with_layout(
        tmp_path, [["CREATE", "model.bin"], ["DISALLOW", "*"]], "python train.py"
    )
    assert check(repo) == (0, [])


def test_a_failing_artifact_rule_of_a_trusted_layout_is_a_finding(tmp_path: Path) -> None:
    repo = repo_with_layout(tmp_path, [["CREATE", "weights.bin"], ["DISALLOW", "*"]], "make")
    code, findings = check(repo)
    assert code == 1
    by_control = {f["control"]: f for f in findings}
    assert set(by_control) == {"in-toto/rule-disallow", "in-toto/command-mismatch"}
    rule = by_control["in-toto/rule-disallow"]
    assert rule["severity"] == "high" and rule["subject"] == "train"
    assert "model.bin" in rule["message"] and "root.layout" in rule["message"]
    assert by_control["in-toto/command-mismatch"]["severity"] == "info"


def test_with_dvc_the_layout_step_is_the_stage_of_the_same_name(tmp_path: Path) -> None:
    repo = repo_with_layout(
        tmp_path, [["CREATE", "model.bin"], ["DISALLOW", "*"]], "python train.py"
    )
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("")
    stage = {"cmd": "python train.py", "outs": ["model.bin"]}
    (repo / "dvc.yaml").write_text(json.dumps({"stages": {"train": stage}}))
    _, findings = check(repo)
    controls = {f["control"] for f in findings}
    assert not any(c.startswith("in-toto/") for c in controls), findings
    assert "builtin/unknown-step" not in controls
    assert "ST-01" not in controls  # the stage is performed by ml, through the layout's link


@pytest.mark.parametrize("rule", [["REQUIRE", "report.json"]])
def test_a_require_rule_fails_when_the_link_lacks_the_artifact(
    tmp_path: Path, rule: list[str]
) -> None:
    repo = repo_with_layout(tmp_path, [rule], "python train.py")
    code, findings = check(repo)
    assert code == 1
    assert {f["control"] for f in findings} == {"in-toto/rule-require"}
