"""`mlpolicy check` on trust: layout owners (in-toto's own cases), key sets, pipeline steps."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from in_toto.models.link import Link
from in_toto.models.metadata import Metablock
from securesystemslib.dsse import Envelope
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner

from policy_engine.cli import main
from policy_engine.keys import load_public_key

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
IN_TOTO = CORPUS / "in-toto" / "tests"
needs_corpus = pytest.mark.skipif(
    not IN_TOTO.is_dir(), reason=f"shared corpus not present at {CORPUS}"
)


def check(repo: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    report = repo.parent / "report.json"
    argv = ["check", str(repo), "--format", "json", "--output", str(report), *args]
    result = CliRunner().invoke(main, [*argv, "--at", "2026-01-01"])
    findings = json.loads(report.read_text())["findings"] if result.exit_code in (0, 1) else []
    return result.exit_code, findings


def controls(findings: list[dict[str, Any]]) -> set[str]:
    return {f["control"] for f in findings if not f.get("waived")}


# -- in-toto's verification cases (MANIFEST §1), judged by `mlpolicy check` ------------------------
DEMO_POLICY = """\
policy "in-toto demo"
attestations in "links"
key alice from "keys/alice.pub"
key ecdsa from "keys/ecdsa.pub"
key bob from "keys/bob.pub"
key carl from "keys/carl.pub"
role owners = {owners}
role functionaries = bob, carl
layout "links/*.layout" owned by owners

control SC-01 "Supply chain steps are performed by their functionaries" {{
  severity high
  stage secure_pipelines
  require every step is performed by functionaries
}}
"""


def demo_repo(tmp_path: Path, signers: list[str], owners: str) -> Path:
    """The demo's links and template, the template signed as in-toto's tests sign it."""
    repo = tmp_path / "repo"
    (repo / "keys").mkdir(parents=True)
    shutil.copytree(IN_TOTO / "demo_files", repo / "links")
    shutil.copyfile(IN_TOTO / "demo_files" / "foo.tar.gz", repo / "foo.tar.gz")
    (repo / "links" / "demo.layout.template").unlink()
    for name, pem in (("alice", "rsa"), ("ecdsa", "ecdsa")):
        shutil.copyfile(IN_TOTO / "pems" / f"{pem}_public.pem", repo / "keys" / f"{name}.pub")
    for name in ("bob", "carl"):
        shutil.copyfile(IN_TOTO / "demo_files" / f"{name}.pub", repo / "keys" / f"{name}.pub")
    template = json.loads((IN_TOTO / "demo_files" / "demo.layout.template").read_text())
    layout = dict(template["signed"], expires="2030-01-02T03:04:06Z")
    signatures = [_sign_pem(layout, pem) for pem in signers]
    (repo / "links" / "root.layout").write_text(
        json.dumps({"signed": layout, "signatures": signatures})
    )
    (repo / "policies").mkdir()
    (repo / "policies" / "demo.policy").write_text(DEMO_POLICY.format(owners=owners))
    return repo


def _sign_pem(layout: dict[str, Any], pem: str) -> dict[str, str]:
    pems = IN_TOTO / "pems"
    private = load_pem_private_key((pems / f"{pem}_private_unencrypted.pem").read_bytes(), None)
    public = load_public_key(IN_TOTO / "pems" / f"{pem}_public.pem").key
    sig = CryptoSigner(private, public).sign(encode_canonical(layout).encode())
    return {"keyid": sig.keyid, "sig": sig.signature}


@needs_corpus
@pytest.mark.parametrize(
    ("case", "signers", "owners", "passes"),
    [
        ("1 passing", ["rsa"], "alice", True),
        ("2 double signed", ["rsa", "ecdsa"], "alice, ecdsa", True),
        ("layout unsigned (13)", [], "alice", False),
        ("6 wrong key", ["rsa"], "ecdsa", False),
        ("an owner's signature missing", ["rsa"], "alice, ecdsa", False),
    ],
)
def test_in_toto_layout_cases_get_in_totos_verdicts(
    tmp_path: Path, case: str, signers: list[str], owners: str, passes: bool
) -> None:
    code, findings = check(demo_repo(tmp_path, signers, owners))
    if passes:
        # the demo's inspection is never run: an info finding, not a failure
        assert code == 0, case
        assert {(f["control"], f["subject"], f["severity"]) for f in findings} == {
            ("in-toto/inspection-skipped", "untar", "info")
        }, case
        return
    assert code == 1, case
    untrusted = [f for f in findings if f["control"] == "builtin/untrusted-layout"]
    assert [f["subject"] for f in untrusted] == ["links/root.layout"]
    # its steps authorise nothing: the links record steps no trusted pipeline has
    unknown = {f["subject"] for f in findings if f["control"] == "builtin/unknown-step"}
    assert unknown == {"write-code", "package"}


# -- key sets -------------------------------------------------------------------------------
KEYSET_POLICY = """\
policy "key sets"
attestations in "attestations"
keys ml_team from "{glob}"

control TR-01 "Models are signed by two of the ML team" {{
  severity high
  stage model_training
  require every artifact matching "models/*" is signed by at least 2 of ml_team
}}
"""


def keyset_repo(tmp_path: Path, glob: str, signers: list[CryptoSigner]) -> Path:
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "models" / "m.bin").write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "models/m.bin", "digest": {"sha256": digest}}],
        "predicateType": "https://in-toto.io/attestation/link/v0.3",
        "predicate": {"name": "train"},
    }
    envelope = Envelope(json.dumps(statement).encode(), "application/vnd.in-toto+json", {})
    for signer in signers:
        envelope.sign(signer)
    (repo / "attestations").mkdir()
    (repo / "attestations" / "m.json").write_text(json.dumps(envelope.to_dict()))
    (repo / "policies").mkdir()
    text = KEYSET_POLICY.format(glob=glob)
    (repo / "policies" / "p.policy").write_text(text)
    return repo


def write_keys(folder: Path, signers: dict[str, CryptoSigner]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, signer in signers.items():
        private = load_pem_private_key(signer.private_bytes, None)
        pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        (folder / f"{name}.pub").write_bytes(pem)


def test_a_key_set_trusts_every_key_in_a_folder_and_one_key_in_two_encodings_is_one(
    tmp_path: Path, signers: dict[str, CryptoSigner]
) -> None:
    alice, bob = signers["alice"], signers["bob"]
    repo = keyset_repo(tmp_path, "keys/ml/*", [alice, bob])
    write_keys(repo / "keys" / "ml", {"alice": alice, "bob": bob})
    assert check(repo) == (0, [])

    repo = keyset_repo(tmp_path / "again", "keys/ml/*", [alice])
    write_keys(repo / "keys" / "ml", {"alice": alice, "bob": bob})
    key = alice.public_key
    as_json = {"keytype": key.keytype, "scheme": key.scheme, "keyval": dict(key.keyval)}
    (repo / "keys" / "ml" / "alice.json").write_text(json.dumps(as_json))
    code, findings = check(repo)
    assert code == 1 and controls(findings) == {"TR-01"}  # alice twice is still one key


@pytest.mark.parametrize(
    ("glob", "message"),
    [
        ("../keys/*.pub", "leaves the repository"),
        ("/etc/*.pub", "must be relative to the repository"),
        ("keys/out/*.pub", "symlink leaving the repository"),
        ("keys/none/*.pub", "no key file matches"),
        ("keys/fifo/*", "not a regular file"),
    ],
)
def test_a_key_set_is_confined_to_the_repository(
    tmp_path: Path, signers: dict[str, CryptoSigner], glob: str, message: str
) -> None:
    repo = keyset_repo(tmp_path, glob, [signers["alice"]])
    write_keys(tmp_path / "keys", {"alice": signers["alice"]})  # outside the repository
    (repo / "keys" / "out").mkdir(parents=True)
    (repo / "keys" / "out" / "alice.pub").symlink_to(tmp_path / "keys" / "alice.pub")
    (repo / "keys" / "none").mkdir()
    (repo / "keys" / "fifo").mkdir()
    os.mkfifo(repo / "keys" / "fifo" / "k.pub")
    result = CliRunner().invoke(main, ["check", str(repo)])
    assert result.exit_code == 2
    assert "E105" in result.output and message in result.output
    assert "p.policy:3:" in result.output  # located at the key set's path


# -- `every step` means pipeline steps (a real DVC repository) ---------------------------------
BIN = Path(sys.executable).parent
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

STEPS_POLICY = """\
policy "steps"
attestations in "attestations"
key ml from "keys/ml.pub"
key ci from "keys/ci.pub"
role ml_team = ml
role builders = ci

control ST-01 "Pipeline steps are performed by the ML team" {
  severity high
  stage model_training
  require every step is performed by ml_team
}

control ST-02 "Recorded builds are performed by the ML team" {
  severity high
  stage secure_pipelines
  require every step from provenance is performed by ml_team
}

control ST-03 "Recorded builds are performed by CI" {
  severity high
  stage secure_pipelines
  require every step from provenance is performed by builders
}
"""


def run(repo: Path, *argv: str) -> None:
    subprocess.run(argv, cwd=repo, env=ENV, check=True, capture_output=True)


@pytest.mark.slow
def test_every_step_selects_pipeline_steps_and_from_provenance_the_recorded_ones(
    tmp_path: Path, signers: dict[str, CryptoSigner]
) -> None:
    ml, ci = signers["alice"], signers["bob"]
    repo = tmp_path / "repo"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, "dvc", "init", "-q")
    (repo / "data.txt").write_text("rows\n")
    run(repo, "dvc", "stage", "add", "-n", "train", "-d", "data.txt", "-o", "model.bin",
        "cp data.txt model.bin")  # fmt: skip
    run(repo, "dvc", "repro", "-q")
    write_keys(repo / "keys", {"ml": ml, "ci": ci})
    (repo / "policies").mkdir()
    (repo / "policies" / "p.policy").write_text(STEPS_POLICY)
    digest = hashlib.sha256((repo / "model.bin").read_bytes()).hexdigest()
    link = {"_type": "link", "name": "train", "command": ["cp", "data.txt", "model.bin"],
            "materials": {}, "products": {"model.bin": {"sha256": digest}},
            "byproducts": {}, "environment": {}}  # fmt: skip
    block = Metablock(signed=_link(link))
    block.create_signature(ml)
    (repo / "attestations").mkdir()
    block.dump(str(repo / "attestations" / f"train.{ml.public_key.keyid[:8]}.link"))
    provenance = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "model.bin", "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://example.com/ci/v1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://example.com/ci"}},
        },
    }
    envelope = Envelope(json.dumps(provenance).encode(), "application/vnd.in-toto+json", {})
    envelope.sign(ci)
    (repo / "attestations" / "model.slsa.json").write_text(json.dumps(envelope.to_dict()))
    code, findings = check(repo)
    # the SLSA step is not a pipeline step (ST-01 holds), but `from provenance` selects it
    assert controls(findings) == {"ST-02"}, findings
    (finding,) = findings
    assert finding["subject"] == "slsa:attestations/model.slsa.json"
    assert code == 1


def _link(document: dict[str, Any]) -> Link:
    return Link.read(document)


def test_a_threshold_larger_than_a_key_set_is_an_error(
    tmp_path: Path, signers: dict[str, CryptoSigner]
) -> None:
    repo = keyset_repo(tmp_path, "keys/ml/*", [signers["alice"]])
    write_keys(repo / "keys" / "ml", {"alice": signers["alice"]})
    result = CliRunner().invoke(main, ["check", str(repo)])
    assert result.exit_code == 2
    assert "E107" in result.output and "the key set has 1 distinct key(s)" in result.output
