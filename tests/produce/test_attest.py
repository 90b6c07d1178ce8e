"""`mlpolicy attest`: evidence in-toto's own tooling accepts and `mlpolicy check` consumes.

Every test works on a private copy of the example ML repository (a real DVC
repository) with keys made by `mlpolicy keygen`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from in_toto.exceptions import (
    RuleVerificationError,
    SignatureVerificationError,
    ThresholdVerificationError,
)
from in_toto.models.layout import Layout, Step
from in_toto.models.metadata import Envelope, Metablock, Metadata
from in_toto.verifylib import in_toto_verify
from securesystemslib.signer import SSlibKey

from policy_engine.cli import main
from policy_engine.produce.signing import load_signer
from policy_engine.produce.statements import prepare_predicate
from policy_engine.schemas.predicates import BASE, SCHEMAS

pytestmark = pytest.mark.slow  # the command end to end, over real repositories

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "example-ml"
CALIBRATION = "https://mlpolicy.dev/attestation/calibration/v1"
ROBUSTNESS = "https://mlpolicy.dev/attestation/robustness/v1"
AT, CHECK_AT = "2026-03-01T12:00:00", "2026-03-10"
GOOD = {"method": "isotonic", "ece": 0.03, "dataset": "data/features/test.csv"}
ROBUST = {"attacks": ["fgsm"], "epsilon": 0.1, "clean_accuracy": 0.9, "robust_accuracy": 0.8}
POLICY = f"""\
policy "evidence"

key analyst from "keys/analyst.pub"
role calibrators = analyst

control CA-01 "Models are calibrated" {{
  severity high
  stage inference
  require every artifact matching "models/*"
    is attested with "{CALIBRATION}" by calibrators where ece < 0.05 within 30d
}}
"""
ROBUSTNESS_CONTROL = f"""
control RB-01 "Models are tested for robustness" {{
  severity high
  stage model_deployment
  require every artifact matching "models/*" is attested with "{ROBUSTNESS}" by calibrators
}}
"""


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@dataclass(frozen=True)
class Keys:
    """Private keys made by `mlpolicy keygen`: the analyst, an outsider, the layout owner."""

    folder: Path

    def private(self, name: str) -> Path:
        return self.folder / name

    def public(self, name: str) -> Path:
        return self.folder / f"{name}.pub"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    for name in ("analyst", "outsider", "owner"):
        assert mlpolicy("keygen", name, "--dir", folder).exit_code == 0
    return Keys(folder)


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> Path:
    """A copy of the example repository that trusts the analyst's key for calibration."""
    root = Path(shutil.copytree(EXAMPLE, tmp_path / "repo"))
    shutil.copyfile(keys.public("analyst"), root / "keys" / "analyst.pub")
    (tmp_path / "evidence.policy").write_text(POLICY)
    return root


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_predicate(folder: Path, fields: dict[str, Any]) -> Path:
    path = folder / "predicate.json"
    path.write_text(json.dumps(fields))
    return path


def attest_statement(
    repo: Path, key: Path, fields: dict[str, Any], *where: str, kind: str = CALIBRATION
) -> Result:
    """`attest statement` about ``where`` (``--subject X`` / ``--stage S``) and an output option."""
    predicate = write_predicate(repo.parent, fields)
    return mlpolicy(
        "attest", "statement", "--key", key, "--type", kind, "--predicate", predicate,
        "--repo", repo, "--at", AT, *where,
    )  # fmt: skip


def check(repo: Path, attestations: Path, policy: Path | None = None) -> tuple[int, dict]:
    """Exit code and findings by control of `mlpolicy check` with the evidence policy."""
    policy = policy or repo.parent / "evidence.policy"
    result = mlpolicy(
        "check", repo, "--policy", policy, "--attestations", attestations,
        "--at", CHECK_AT, "--no-cache", "--format", "json",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    findings: dict[str, list[str]] = {}
    for finding in json.loads(result.stdout)["findings"]:
        findings.setdefault(finding["control"], []).append(finding["message"])
    return result.exit_code, findings


def intoto_key(public: Path) -> dict[str, Any]:
    """The key as in-toto takes it, its id computed by securesystemslib itself."""
    key = SSlibKey.from_crypto(load_pem_public_key(public.read_bytes()))
    return {"keyid": key.keyid, **key.to_dict()}


def locked_command(repo: Path, stage: str) -> list[str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return shlex.split(lock["stages"][stage]["cmd"])


# --- links: in-toto's models and in-toto's verification ---------------------------------


def test_a_link_is_signed_in_toto_metadata_of_what_the_stage_declared(
    repo: Path, keys: Keys
) -> None:
    result = mlpolicy("attest", "link", "--key", keys.private("analyst"), "--stage", "train",
                      "--repo", repo)  # fmt: skip
    assert result.exit_code == 0, result.output
    analyst = intoto_key(keys.public("analyst"))
    path = repo / "attestations" / f"train.{analyst['keyid'][:8]}.link"
    assert f"wrote {path}" in result.stdout
    metadata = Metadata.load(str(path))
    assert isinstance(metadata, Metablock)
    metadata.verify_signature(analyst)
    with pytest.raises(SignatureVerificationError):
        metadata.verify_signature(intoto_key(keys.public("outsider")))
    link = metadata.signed
    assert link.name == "train"
    assert link.command == locked_command(repo, "train")
    model = repo / "models/model.json"
    md5 = hashlib.md5(model.read_bytes(), usedforsecurity=False).hexdigest()
    assert link.products == {"models/model.json": {"sha256": sha256(model), "md5": md5}}
    assert set(link.materials) == {"src/train.py", "data/features/train.csv"}
    assert link.byproducts == {} and link.environment == {}


def test_a_dsse_link_verifies_with_in_toto_envelope(repo: Path, keys: Keys) -> None:
    out = repo.parent / "links"
    result = mlpolicy("attest", "link", "--key", keys.private("analyst"), "--stage", "prepare",
                      "--repo", repo, "--dir", out, "--dsse")  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = out.glob("prepare.*.link")
    metadata = Metadata.load(str(path))
    assert isinstance(metadata, Envelope)
    metadata.verify_signature(intoto_key(keys.public("analyst")))
    link = metadata.get_payload()
    assert link.command == locked_command(repo, "prepare")
    assert set(link.products) == {"data/prepared/train.csv", "data/prepared/test.csv"}


def layout_of_the_model_stages(keys: Keys) -> Metablock:
    """A layout signed by the owner: featurize -> train -> evaluate, each by the analyst."""
    analyst = intoto_key(keys.public("analyst"))

    def step(name: str, materials: list[list[str]], products: list[str]) -> Step:
        return Step(
            name=name,
            pubkeys=[analyst["keyid"]],
            threshold=1,
            expected_command=locked_command(EXAMPLE, name),
            expected_materials=[*materials, ["ALLOW", "src/*"], ["DISALLOW", "*"]],
            expected_products=[*(["CREATE", p] for p in products), ["DISALLOW", "*"]],
        )

    def match(path: str, step: str) -> list[str]:
        return ["MATCH", path, "WITH", "PRODUCTS", "FROM", step]

    layout = Layout()
    layout.set_relative_expiration(days=1)
    layout.keys = {analyst["keyid"]: analyst}
    layout.steps = [
        step("featurize", [["ALLOW", "data/prepared/*"]], ["data/features/*"]),
        step("train", [match("data/features/train.csv", "featurize")], ["models/model.json"]),
        step(
            "evaluate",
            [match("models/model.json", "train"), match("data/features/test.csv", "featurize")],
            ["metrics/eval.json"],
        ),
    ]
    metadata = Metablock(signed=layout)
    metadata.create_signature(load_signer(keys.private("owner")))
    return metadata


def attest_links(repo: Path, key: Path, out: Path, *stages: str, force: bool = False) -> None:
    for stage in stages:
        dsse = ("--dsse",) if stage == "evaluate" else ()
        extra = (*dsse, "--force") if force else dsse
        result = mlpolicy("attest", "link", "--key", key, "--stage", stage, "--repo", repo,
                          "--dir", out, *extra)  # fmt: skip
        assert result.exit_code == 0, result.output


def verify(keys: Keys, links: Path) -> None:
    owner = intoto_key(keys.public("owner"))
    in_toto_verify(layout_of_the_model_stages(keys), {owner["keyid"]: owner}, str(links))


def test_in_toto_verify_accepts_the_links_of_the_attested_stages(repo: Path, keys: Keys) -> None:
    links = repo.parent / "links"
    attest_links(repo, keys.private("analyst"), links, "featurize", "train", "evaluate")
    verify(keys, links)  # raises on any failure


def test_in_toto_verify_rejects_a_link_signed_by_a_key_the_layout_does_not_name(
    repo: Path, keys: Keys
) -> None:
    links, forged = repo.parent / "links", repo.parent / "forged"
    attest_links(repo, keys.private("analyst"), links, "featurize", "train", "evaluate")
    attest_links(repo, keys.private("outsider"), forged, "train")
    (authorised,) = links.glob("train.*.link")
    (by_outsider,) = forged.glob("train.*.link")
    shutil.copyfile(by_outsider, authorised)  # the outsider's link where in-toto looks
    with pytest.raises(ThresholdVerificationError):
        verify(keys, links)


def test_in_toto_verify_rejects_training_on_bytes_featurize_did_not_produce(
    repo: Path, keys: Keys
) -> None:
    links = repo.parent / "links"
    attest_links(repo, keys.private("analyst"), links, "featurize")
    with (repo / "data/features/train.csv").open("a") as features:
        features.write("0,0,0,0,1\n")  # poisoned after featurize was signed
    refused = mlpolicy("attest", "link", "--key", keys.private("analyst"), "--stage", "train",
                       "--repo", repo, "--dir", links)  # fmt: skip
    assert refused.exit_code == 2 and "changed since DVC recorded them" in refused.output
    attest_links(repo, keys.private("analyst"), links, "train", "evaluate", force=True)
    with pytest.raises(RuleVerificationError, match=r"data/features/train\.csv"):
        verify(keys, links)


# --- statements: DSSE envelopes in-toto reads, evidence mlpolicy check judges -------------


def test_a_statement_is_a_dsse_envelope_in_toto_verifies(repo: Path, keys: Keys) -> None:
    out = repo / "evidence" / "calibration.json"
    result = attest_statement(
        repo, keys.private("analyst"), GOOD, "--subject", "models/model.json", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "timestamp`: set to 2026-03-01T12:00:00Z" in result.stderr
    model_digest = sha256(repo / "models/model.json")
    assert f"subject models/model.json sha256:{model_digest}" in result.stdout
    envelope = Metadata.load(str(out))
    assert isinstance(envelope, Envelope)
    assert envelope.payload_type == "application/vnd.in-toto+json"
    envelope.verify_signature(intoto_key(keys.public("analyst")))
    with pytest.raises(SignatureVerificationError):
        envelope.verify_signature(intoto_key(keys.public("outsider")))
    statement = json.loads(envelope.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [
        {"name": "models/model.json", "digest": {"sha256": model_digest}}
    ]
    assert statement["predicateType"] == CALIBRATION
    assert statement["predicate"] == {**GOOD, "timestamp": "2026-03-01T12:00:00Z"}


def test_check_accepts_a_valid_calibration_statement(repo: Path, keys: Keys) -> None:
    out = repo.parent / "evidence" / "calibration.json"
    result = attest_statement(repo, keys.private("analyst"), GOOD, "--stage", "train", "--out", out)
    assert result.exit_code == 0, result.output
    _, findings = check(repo, out)
    assert "CA-01" not in findings


def test_check_passes_with_a_valid_calibration_statement(repo: Path, keys: Keys) -> None:
    out = repo.parent / "evidence" / "calibration.json"
    assert (
        attest_statement(
            repo, keys.private("analyst"), GOOD, "--stage", "train", "--out", out
        ).exit_code
        == 0
    )
    assert check(repo, out) == (0, {})


@pytest.mark.parametrize(
    ("key", "fields", "problem"),
    [
        ("analyst", {**GOOD, "ece": 0.2}, "`ece < 0.05` fails"),
        ("outsider", GOOD, "not by 1 of role `calibrators`"),
    ],
    ids=["ece-too-high", "another-key"],
)
def test_check_fails_on_evidence_that_does_not_satisfy_the_control(
    repo: Path, keys: Keys, key: str, fields: dict[str, Any], problem: str
) -> None:
    out = repo.parent / "evidence" / "calibration.json"
    result = attest_statement(repo, keys.private(key), fields, "--stage", "train", "--out", out)
    assert result.exit_code == 0, result.output
    code, findings = check(repo, out)
    assert code == 1
    (message,) = findings["CA-01"]
    assert problem in message


def test_check_fails_once_the_model_bytes_change(repo: Path, keys: Keys) -> None:
    out = repo.parent / "evidence" / "calibration.json"
    result = attest_statement(repo, keys.private("analyst"), GOOD, "--stage", "train", "--out", out)
    assert result.exit_code == 0, result.output
    assert "CA-01" not in check(repo, out)[1]
    model = repo / "models" / "model.json"
    model.write_text(model.read_text().replace("{", "{ ", 1))
    code, findings = check(repo, out)
    assert code == 1
    (message,) = findings["CA-01"]
    assert "other bytes than `models/model.json` has now" in message


def test_a_bundle_of_two_statements_is_read_by_check(repo: Path, keys: Keys) -> None:
    bundle = repo.parent / "evidence" / "model.intoto.jsonl"
    key = keys.private("analyst")
    first = attest_statement(repo, key, GOOD, "--stage", "train", "--bundle", bundle)
    second = attest_statement(
        repo, key, ROBUST, "--subject", "models/model.json", "--bundle", bundle, kind=ROBUSTNESS
    )
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert "(line 2)" in second.stdout
    lines = bundle.read_text().splitlines()
    assert [json.loads(line)["payloadType"] for line in lines] == [
        "application/vnd.in-toto+json"
    ] * 2
    policy = repo.parent / "both.policy"
    policy.write_text(POLICY + ROBUSTNESS_CONTROL)
    _, findings = check(repo, bundle, policy)
    assert "CA-01" not in findings and "RB-01" not in findings
    bundle.write_text(lines[0] + "\n")  # the robustness statement gone: RB-01 fails
    assert "RB-01" in check(repo, bundle, policy)[1]


def _retrain(repo: Path) -> None:
    model = repo / "models" / "model.json"
    model.write_text(model.read_text().replace("{", "{ ", 1))


def test_re_attesting_after_a_retrain_replaces_what_it_supersedes(repo: Path, keys: Keys) -> None:
    bundle = repo.parent / "evidence" / "model.intoto.jsonl"
    key = keys.private("analyst")
    outsider = attest_statement(repo, keys.private("outsider"), GOOD, "--stage", "train",
                                "--bundle", bundle)  # fmt: skip
    first = attest_statement(repo, key, GOOD, "--stage", "train", "--bundle", bundle)
    robust = attest_statement(
        repo, key, ROBUST, "--subject", "models/model.json", "--bundle", bundle, kind=ROBUSTNESS
    )
    assert (outsider.exit_code, first.exit_code, robust.exit_code) == (0, 0, 0)
    before = bundle.read_text().splitlines()
    _retrain(repo)
    assert "CA-01" in check(repo, bundle)[1]
    again = attest_statement(repo, key, GOOD, "--stage", "train", "--bundle", bundle)
    assert again.exit_code == 0, again.output
    assert "(line 3); replaced 1 earlier statement(s)" in again.stdout
    after = bundle.read_text().splitlines()
    assert after[:2] == [before[0], before[2]]  # another key, another type: kept as they were
    assert before[1] not in after and len(after) == 3
    assert "CA-01" not in check(repo, bundle)[1]


def test_another_statement_about_the_same_bytes_is_kept(repo: Path, keys: Keys) -> None:
    bundle = repo.parent / "evidence" / "model.intoto.jsonl"
    key = keys.private("analyst")
    assert attest_statement(repo, key, GOOD, "--stage", "train", "--bundle", bundle).exit_code == 0
    second = attest_statement(repo, key, {**GOOD, "ece": 0.03}, "--stage", "train",
                              "--bundle", bundle)  # fmt: skip
    assert second.exit_code == 0, second.output
    assert "replaced" not in second.stdout
    assert len(bundle.read_text().splitlines()) == 2


def test_keep_history_keeps_the_superseded_statement(repo: Path, keys: Keys) -> None:
    bundle = repo.parent / "evidence" / "model.intoto.jsonl"
    key = keys.private("analyst")
    assert attest_statement(repo, key, GOOD, "--stage", "train", "--bundle", bundle).exit_code == 0
    _retrain(repo)
    kept = attest_statement(
        repo, key, GOOD, "--stage", "train", "--bundle", bundle, "--keep-history"
    )
    assert kept.exit_code == 0, kept.output
    assert kept.stdout.count("replaced") == 0 and "(line 2)" in kept.stdout
    assert len(bundle.read_text().splitlines()) == 2


# --- what attest refuses (exit 2, nothing written) ---------------------------------------


def test_an_invalid_predicate_is_refused_with_its_schema_problem(repo: Path, keys: Keys) -> None:
    out = repo.parent / "evidence.json"
    bad = {"method": "isotonic", "ece": 1.5, "dataset": "test"}
    result = attest_statement(
        repo, keys.private("analyst"), bad, "--subject", "models/model.json", "--out", out
    )
    assert result.exit_code == 2
    assert "does not match the schema" in result.stderr
    assert "`ece`" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (("--subject", "../outside.txt"), "leaves the repository"),
        (("--subject", "/etc/hostname"), "absolute path"),
        (("--subject", "models/missing.bin"), "no such file or folder"),
        (("--stage", "deploy"), "no DVC stage `deploy`; the stages are"),
    ],
    ids=["dot-dot", "absolute", "missing", "unknown-stage"],
)
def test_attest_statement_refuses_subjects_outside_or_absent(
    repo: Path, keys: Keys, where: tuple[str, str], message: str
) -> None:
    (repo.parent / "outside.txt").write_text("not in the repository")
    out = repo.parent / "evidence.json"
    result = attest_statement(repo, keys.private("analyst"), GOOD, *where, "--out", out)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not out.exists()


def test_attest_statement_refuses_a_symlink_leaving_the_repository(repo: Path, keys: Keys) -> None:
    (repo.parent / "secret.txt").write_text("outside")
    (repo / "models" / "link.bin").symlink_to(repo.parent / "secret.txt")
    out = repo.parent / "evidence.json"
    result = attest_statement(
        repo, keys.private("analyst"), GOOD, "--subject", "models/link.bin", "--out", out
    )
    assert result.exit_code == 2
    assert "symlink" in result.stderr
    assert not out.exists()


def test_attest_link_refuses_a_stage_whose_output_is_missing(repo: Path, keys: Keys) -> None:
    (repo / "metrics" / "eval.json").unlink()
    out = repo.parent / "links"
    result = mlpolicy("attest", "link", "--key", keys.private("analyst"), "--stage", "evaluate",
                      "--repo", repo, "--dir", out)  # fmt: skip
    assert result.exit_code == 2
    assert "metrics/eval.json: an output of the stage is missing: the stage has not run" in (
        result.stderr
    )
    assert not out.exists()


def test_attest_takes_exactly_one_kind_of_subject_and_one_destination(
    repo: Path, keys: Keys
) -> None:
    out = repo.parent / "evidence.json"
    key = keys.private("analyst")
    both = attest_statement(
        repo, key, GOOD, "--subject", "models/model.json", "--stage", "train", "--out", out
    )
    nowhere = attest_statement(repo, key, GOOD, "--subject", "models/model.json")
    not_lines = attest_statement(
        repo, key, GOOD, "--subject", "models/model.json", "--bundle", repo.parent / "b.json"
    )
    assert [r.exit_code for r in (both, nowhere, not_lines)] == [2, 2, 2]
    assert "either --subject PATH" in both.stderr
    assert "either --out FILE" in nowhere.stderr
    assert "must end in `.jsonl`" in not_lines.stderr
    assert not out.exists() and not (repo.parent / "b.json").exists()


def test_attest_with_an_encrypted_key_needs_its_password(repo: Path, tmp_path: Path) -> None:
    env = {"SIGNING_PASSWORD": "s3cret"}
    made = CliRunner().invoke(
        main, ["keygen", "locked", "--dir", str(tmp_path), "--password-env", "SIGNING_PASSWORD"],
        env=env,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    link = ["attest", "link", "--key", str(tmp_path / "locked"), "--stage", "train",
            "--repo", str(repo), "--dir", str(tmp_path / "links")]  # fmt: skip
    refused = CliRunner().invoke(main, link)
    assert refused.exit_code == 2
    assert "the private key is encrypted" in refused.stderr
    signed = CliRunner().invoke(main, [*link, "--password-env", "SIGNING_PASSWORD"], env=env)
    assert signed.exit_code == 0, signed.output
    assert len(list((tmp_path / "links").glob("train.*.link"))) == 1


# --- predicate files ----------------------------------------------------------------------


def test_a_yaml_predicate_keeps_its_own_timestamp(repo: Path, keys: Keys) -> None:
    predicate = repo.parent / "predicate.yaml"
    predicate.write_text(
        "method: isotonic\nece: 0.01\ndataset: holdout\ntimestamp: 2026-02-27T08:30:00Z\n"
    )
    out = repo.parent / "evidence.json"
    result = mlpolicy(
        "attest", "statement", "--key", keys.private("analyst"), "--type", CALIBRATION,
        "--predicate", predicate, "--subject", "models/model.json", "--repo", repo, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "timestamp" not in result.stderr
    payload = json.loads(Metadata.load(str(out)).payload)
    assert payload["predicate"]["timestamp"] == "2026-02-27T08:30:00Z"


def test_yaml_aliases_are_refused(repo: Path, keys: Keys) -> None:
    predicate = repo.parent / "predicate.yaml"
    predicate.write_text("a: &x [1, 2]\nb: *x\n")
    result = mlpolicy(
        "attest", "statement", "--key", keys.private("analyst"), "--type", "https://example.com/x",
        "--predicate", predicate, "--subject", "models/model.json", "--repo", repo,
        "--out", repo.parent / "evidence.json",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "aliases" in result.stderr


def test_a_folder_is_one_subject_digested_as_check_digests_it(repo: Path, keys: Keys) -> None:
    scan = "https://mlpolicy.dev/attestation/data-scan/v1"
    out = repo.parent / "evidence" / "scan.json"
    result = attest_statement(
        repo, keys.private("analyst"), {"scope": "pii", "findings": 0},
        "--subject", "data/prepared", "--subject", "./data/prepared/", "--out", out, kind=scan,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.count("subject data/prepared sha256:") == 1
    policy = repo.parent / "scan.policy"
    policy.write_text(
        POLICY.split("control")[0]
        + 'control DS-01 "Prepared data is scanned" {\n  severity high\n  stage data_preparation\n'
        + f'  require every artifact matching "data/prepared" is attested with "{scan}"\n}}\n'
    )
    _, findings = check(repo, out, policy)
    assert "DS-01" not in findings
    (repo / "data" / "prepared" / "extra.csv").write_text("a,b\n")
    assert "DS-01" in check(repo, out, policy)[1]


def test_attest_changes_nothing_in_the_repository_but_its_output(repo: Path, keys: Keys) -> None:
    def tree() -> dict[str, bytes]:
        return {
            p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*") if p.is_file()
        }

    before = tree()
    key = keys.private("analyst")
    attest_links(repo, key, repo.parent / "links", "train")
    result = attest_statement(
        repo, key, GOOD, "--stage", "train", "--bundle", repo.parent / "b.intoto.jsonl"
    )
    assert result.exit_code == 0, result.output
    assert tree() == before


def documented_examples() -> dict[str, dict[str, Any]]:
    """The example predicate files of docs/evidence.md, by predicate type."""
    text = (ROOT / "docs" / "evidence.md").read_text()
    section = text.split("### Example predicate files", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"^`([^`]+)`[^\n]*:\n\n```yaml\n(.*?)```", section, re.M | re.S)
    return {
        name if name.startswith("https://") else f"{BASE}/{name}/v1": yaml.safe_load(body)
        for name, body in found
    }


def test_every_predicate_type_has_a_documented_example_its_schema_accepts() -> None:
    examples = documented_examples()
    assert set(examples) == set(SCHEMAS)
    for predicate_type, predicate in examples.items():
        prepared = prepare_predicate(predicate_type, predicate, datetime.now(timezone.utc), "docs")
        assert prepared.predicate["timestamp"]


def test_attest_statement_refuses_a_stage_that_has_not_run(repo: Path, keys: Keys) -> None:
    (repo / "models" / "model.json").unlink()
    out = repo.parent / "evidence.json"
    result = attest_statement(repo, keys.private("analyst"), GOOD, "--stage", "train", "--out", out)
    assert result.exit_code == 2
    assert "models/model.json: an output of the stage is missing" in result.stderr
    assert not out.exists()
