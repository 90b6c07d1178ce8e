"""The evaluator on small graphs built through the graph API: each check passing and failing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from policy_engine.compiler import compile_modules, ir
from policy_engine.evaluate import Kind, evaluate
from policy_engine.graph.model import (
    Attestation,
    ProvenanceGraph,
    SignatureCheck,
    SignatureStatus,
    SourceRef,
    Step,
    WorkspaceFile,
)
from policy_engine.language import parse_text

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
HEADER = """\
policy "t"
key alice from "keys/alice.pub"
key bob from "keys/bob.pub"
key mallory from "keys/mallory.pub"
role ml = alice, bob
role outsiders = mallory
stage data_preparation = steps "prepare"
stage model_training = steps where meta.lifecycle == "model_training"
"""


@pytest.fixture
def compile_policy(
    tmp_path: Path, key_dir: Callable[[Path], Path]
) -> Callable[[str], ir.PolicySet]:
    key_dir(tmp_path)

    def run(controls: str) -> ir.PolicySet:
        parsed = parse_text(HEADER + controls, "t.policy")
        assert parsed.diagnostics == ()
        result = compile_modules([parsed.module], tmp_path)
        assert result.policy is not None, result.diagnostics
        return result.policy

    return run


def ws(tag: str) -> WorkspaceFile:
    return WorkspaceFile(sha256=f"sha-{tag}", md5=f"md5-{tag}", size=1)


def link(
    step: str,
    keyid: str,
    status: SignatureStatus = SignatureStatus.VALID,
    materials: dict | None = None,
    products: dict | None = None,
) -> Attestation:
    return Attestation(
        file=f"att/{step}.link",
        kind="link",
        envelope="metablock",
        step_name=step,
        materials=materials or {},
        products=products or {},
        signatures=(SignatureCheck(keyid, status),),
    )


def pipeline(
    policy: ir.PolicySet,
    *,
    model: str = "m",
    consumed: str = "f",
    train_signer: str = "alice",
    prepare_signer: str = "alice",
    train_status: SignatureStatus = SignatureStatus.VALID,
) -> ProvenanceGraph:
    """source.csv -> prepare -> features.csv -> train -> model.json, with links."""
    keyid = {name: key.keyid for name, key in policy.keys.items()}
    g = ProvenanceGraph("/repo")
    lock = SourceRef("dvc.lock", None, "lock")
    g.add_step(Step("prepare", SourceRef("dvc.yaml", 2)))
    g.add_step(Step("train", SourceRef("dvc.yaml", 8), meta={"lifecycle": "model_training"}))
    g.add_input("data/source.csv", "prepare", {"md5": "md5-s"}, lock)
    g.add_output("prepare", "data/features.csv", {"md5": "md5-f"}, lock)
    g.add_input("data/features.csv", "train", {"md5": f"md5-{consumed}"}, lock)
    g.add_output("train", "models/model.json", {"md5": "md5-m"}, lock)
    prep = link(
        "prepare",
        keyid[prepare_signer],
        materials={"data/source.csv": {"sha256": "sha-s"}},
        products={"data/features.csv": {"sha256": "sha-f"}},
    )
    train = link(
        "train",
        keyid[train_signer],
        train_status,
        materials={"data/features.csv": {"sha256": f"sha-{consumed}"}},
        products={"models/model.json": {"sha256": "sha-m"}},
    )
    for att in (prep, train):
        g.add_attestation(att, SourceRef(att.file))
    for path, tag in (
        ("data/source.csv", "s"),
        ("data/features.csv", consumed),
        ("models/model.json", model),
    ):
        g.set_workspace(path, ws(tag))
    return g


SIGNED = """
control S-1 "Models signed" {
  severity high
  stage model_deployment
  require every artifact matching "models/*" is signed by ml
}
"""


def test_signed_at_current_digest_passes(compile_policy) -> None:
    policy = compile_policy(SIGNED)
    result = evaluate(policy, pipeline(policy), NOW)
    assert [f for f in result.findings if f.control == "S-1"] == []
    assert result.controls[0].subjects == 1


def test_a_model_changed_after_signing_is_unsigned_with_evidence(compile_policy) -> None:
    policy = compile_policy(SIGNED)
    result = evaluate(policy, pipeline(policy, model="tampered"), NOW)
    (finding,) = [f for f in result.findings if f.control == "S-1"]
    assert finding.kind is Kind.UNSIGNED_ARTIFACT
    assert finding.subject == "models/model.json"
    assert "changed after they were signed" in finding.message
    assert ("workspace sha256", "sha-tampered") in [(e.label, e.value) for e in finding.evidence]
    assert (finding.location.file, finding.location.line) == ("t.policy", 13)
    mismatches = [f for f in result.findings if f.control == "builtin/digest-mismatch"]
    assert [f.subject for f in mismatches] == ["models/model.json"]


def test_threshold_counts_distinct_keys(compile_policy) -> None:
    policy = compile_policy(SIGNED.replace("signed by ml", "signed by at least 2 of ml"))
    graph = pipeline(policy)
    keyid = policy.keys["alice"].keyid
    extra = link("train", keyid, products={"models/model.json": {"sha256": "sha-m"}})
    graph.add_attestation(
        Attestation(**{**extra.__dict__, "file": "att/train.again.link"}), SourceRef("x")
    )
    (finding,) = [f for f in evaluate(policy, graph, NOW).findings if f.control == "S-1"]
    assert "by `alice` only" in finding.message


def test_an_invalid_signature_never_counts(compile_policy) -> None:
    policy = compile_policy(SIGNED)
    graph = pipeline(policy, train_status=SignatureStatus.INVALID)
    (finding,) = [f for f in evaluate(policy, graph, NOW).findings if f.control == "S-1"]
    assert "no trusted key only" in finding.message


PERFORMED = """
control P-1 "Prep by ml" {
  severity medium
  require every step in data_preparation is performed by ml
}
control P-2 "Training by ml" {
  severity medium
  require every step in model_training is performed by ml
}
"""


def test_performed_by_the_role_passes(compile_policy) -> None:
    policy = compile_policy(PERFORMED)
    result = evaluate(policy, pipeline(policy, prepare_signer="bob"), NOW)
    assert [f.control for f in result.findings] == []


def test_a_step_signed_outside_the_role_is_unauthorized(compile_policy) -> None:
    policy = compile_policy(PERFORMED)
    result = evaluate(policy, pipeline(policy, prepare_signer="mallory"), NOW)
    (finding,) = result.findings
    assert (finding.control, finding.subject, finding.kind) == (
        "P-1",
        "prepare",
        Kind.UNAUTHORIZED_STEP,
    )
    assert finding.message == "`att/prepare.link` is signed by `mallory`, not in role `ml`"


def test_an_untrusted_signer_and_a_missing_link_are_unauthorized(compile_policy) -> None:
    policy = compile_policy(PERFORMED)
    graph = pipeline(policy, train_status=SignatureStatus.UNTRUSTED)
    graph.add_step(
        Step("train_more", SourceRef("dvc.yaml", 20), meta={"lifecycle": "model_training"})
    )
    by_subject = {f.subject: f.message for f in evaluate(policy, graph, NOW).findings}
    assert by_subject["train_more"] == "no signed link records step `train_more`"
    assert by_subject["train"].startswith("`att/train.link` is signed only by keys the policy")


LINEAGE = """
control L-1 "Models derive from sources" {
  severity high
  stage model_training
  require every artifact matching "models/*" derives from artifacts matching "data/source*"
}
"""


def test_an_unbroken_chain_derives(compile_policy) -> None:
    policy = compile_policy(LINEAGE)
    assert evaluate(policy, pipeline(policy), NOW).findings == ()


def test_consuming_bytes_no_step_produced_breaks_lineage(compile_policy) -> None:
    policy = compile_policy(LINEAGE)
    result = evaluate(policy, pipeline(policy, consumed="poisoned"), NOW)
    (finding,) = [f for f in result.findings if f.control == "L-1"]
    assert finding.kind is Kind.MISSING_LINEAGE
    assert finding.message == (
        "its lineage back to artifacts matching `data/source*` is broken: step `train` "
        "consumed `data/features.csv` with bytes that `prepare` never produced"
    )
    values = {e.value for e in finding.evidence}
    assert {"md5-poisoned", "md5-f"} <= values


def test_an_output_with_no_recorded_digest_breaks_lineage(compile_policy) -> None:
    policy = compile_policy(LINEAGE)
    graph = pipeline(policy)
    graph.add_step(Step("retrain", SourceRef("dvc.yaml", 30)))
    graph.add_input("data/features.csv", "retrain", {"md5": "md5-f"}, SourceRef("dvc.lock"))
    graph.add_output("retrain", "models/other.json", {}, SourceRef("dvc.lock"))
    (finding,) = evaluate(policy, graph, NOW).findings
    assert finding.subject == "models/other.json"
    assert "step `retrain` recorded no digest for `models/other.json`" in finding.message


def test_quantifiers_some_no_and_an_empty_selection(compile_policy) -> None:
    policy = compile_policy("""
control Q-1 "some" {
  severity low
  stage outputs
  require some artifact matching "**" is signed by outsiders
}
control Q-2 "no" {
  severity low
  stage outputs
  require no artifact matching "models/*" is signed by ml
}
control Q-3 "empty" {
  severity low
  stage outputs
  require every artifact matching "reports/*" is signed by ml
}
""")
    findings = {f.control: f for f in evaluate(policy, pipeline(policy), NOW).findings}
    assert findings["Q-1"].subject == "artifacts matching `**`"
    assert findings["Q-1"].message.startswith("none of the artifacts matching `**` qualifies")
    assert findings["Q-2"].subject == "models/model.json"
    assert findings["Q-2"].message.startswith("must not hold, but signed at its current digest")
    assert findings["Q-3"].kind is Kind.POLICY
    assert "cannot be shown to hold" in findings["Q-3"].message


def test_boolean_combinations(compile_policy) -> None:
    policy = compile_policy("""
control B-1 "and/or/not" {
  severity low
  stage outputs
  require every artifact matching "models/*" is signed by outsiders or not signed by outsiders
  require every artifact matching "models/*" is signed by ml and signed by outsiders
}
""")
    (finding,) = evaluate(policy, pipeline(policy), NOW).findings
    assert finding.location.line == 14
    assert "role `outsiders` must sign it" in finding.message


def test_links_for_steps_outside_the_pipeline_are_findings(compile_policy) -> None:
    policy = compile_policy(SIGNED)
    graph = pipeline(policy)
    graph.add_attestation(link("deploy", policy.keys["alice"].keyid), SourceRef("att/deploy.link"))
    (finding,) = [f for f in evaluate(policy, graph, NOW).findings if f.control.startswith("b")]
    assert (finding.control, finding.kind) == ("builtin/unknown-step", Kind.UNAUTHORIZED_STEP)
    assert finding.location == policy.location
