"""Rules on artifacts whose bytes are not materialised: judged from DVC's md5, or undecided."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from policy_engine.compiler import compile_modules, ir
from policy_engine.evaluate import Evaluation, evaluate
from policy_engine.graph.model import (
    Attestation,
    DigestClaim,
    ProvenanceGraph,
    SignatureCheck,
    SignatureStatus,
    SourceRef,
    Step,
    WorkspaceFile,
)
from policy_engine.language import parse_text

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
MODEL = "models/model.pkl"
MODELS = 'artifact matching "models/*"'
LOCK = SourceRef("dvc.lock", 9, "stage `train` out")
HEADER = """\
policy "t"
key alice from "keys/alice.pub"
role ml = alice
stage monitoring = steps "x"
"""
CALIBRATION = "https://example.com/calibration/v1"
Compile = Callable[..., ir.PolicySet]


def control(require: str) -> str:
    return f'control C-1 "t" {{\n  severity high\n  stage model_training\n  require {require}\n}}\n'


@pytest.fixture
def compile_policy(tmp_path: Path, key_dir: Callable[[Path], Path]) -> Callable[..., ir.PolicySet]:
    key_dir(tmp_path)

    def run(require: str, opt_in: bool = False) -> ir.PolicySet:
        text = HEADER + ("on unjudged fail\n" if opt_in else "") + control(require)
        parsed = parse_text(text, "t.policy")
        assert parsed.diagnostics == ()
        result = compile_modules([parsed.module], tmp_path)
        assert result.policy is not None, result.diagnostics
        return result.policy

    return run


def graph(
    policy: ir.PolicySet, signed: dict[str, str], *, subject: dict[str, str] | None = None
) -> ProvenanceGraph:
    """train -> models/model.pkl (lock md5 `m`), not materialised, its link products ``signed``."""
    g = ProvenanceGraph("/repo")
    g.add_step(Step("train", SourceRef("dvc.yaml", 2)))
    g.add_output("train", MODEL, {"md5": "m"}, LOCK)
    check = (SignatureCheck(policy.keys["alice"].keyid, SignatureStatus.VALID),)
    g.add_attestation(
        Attestation("att/train.link", "link", "metablock", "train", products={MODEL: signed},
                    signatures=check),
        SourceRef("att/train.link"),
    )  # fmt: skip
    if subject is not None:
        statement = Attestation(
            "att/cal.json", "statement", "dsse", predicate_type=CALIBRATION,
            subjects={MODEL: subject}, signatures=check,
        )  # fmt: skip
        g.add_attestation(statement, SourceRef("att/cal.json"))
    g.set_locked(MODEL, DigestClaim("md5", "m", LOCK))
    return g


def run(policy: ir.PolicySet, g: ProvenanceGraph) -> Evaluation:
    return evaluate(policy, g, NOW)


def rule_findings(result: Evaluation) -> list[str]:
    """The messages of the rule's findings (built-in ones, e.g. digest-mismatch, left out)."""
    return [f.message for f in result.findings if f.control == "C-1"]


def test_signed_md5_equal_to_the_lock_passes_judged_from_the_lock(compile_policy: Compile) -> None:
    policy = compile_policy('every artifact matching "models/*" is signed by ml')
    result = run(policy, graph(policy, {"sha256": "s", "md5": "m"}))
    assert result.findings == () and result.undecided == ()


def test_signed_md5_other_than_the_lock_is_unsigned(compile_policy: Compile) -> None:
    policy = compile_policy('every artifact matching "models/*" is signed by ml')
    result = run(policy, graph(policy, {"sha256": "s", "md5": "other"}))
    [finding] = [f for f in result.findings if f.control == "C-1"]
    assert "changed after they were signed" in finding.message
    assert "judged from dvc.lock: inherits DVC's md5" in finding.message
    assert ("dvc.lock md5 (not materialised)", "m") in [
        (e.label, e.value) for e in finding.evidence
    ]
    assert {f.control for f in result.findings} == {"C-1", "builtin/digest-mismatch"}


def test_sha256_only_is_undecided_never_a_pass_or_another_finding(compile_policy: Compile) -> None:
    policy = compile_policy('every artifact matching "models/*" is signed by ml')
    result = run(policy, graph(policy, {"sha256": "s"}))
    assert result.findings == ()
    [undecided] = result.undecided
    assert (undecided.control, undecided.subject) == ("C-1", MODEL)
    assert "cannot be judged" in undecided.message
    assert result.controls[0].undecided == 1


def test_the_opt_in_makes_an_undecided_rule_a_finding(compile_policy: Compile) -> None:
    policy = compile_policy('every artifact matching "models/*" is signed by ml', opt_in=True)
    assert policy.unjudged_fail
    result = run(policy, graph(policy, {"sha256": "s"}))
    assert result.undecided == ()
    [finding] = result.findings
    assert finding.control == "C-1" and finding.message.startswith("could not be judged: ")


@pytest.mark.parametrize(
    ("require", "decided"),
    [
        ('every artifact matching "models/*" is not signed by ml', False),
        (f"every {MODELS} is signed by ml or is produced by steps in monitoring", False),
        ('every artifact matching "models/*" is signed by ml or is tracked', True),
        (f"every {MODELS} is signed by ml and is produced by steps in monitoring", True),
        ('some artifact matching "models/*" is signed by ml', False),
        ('no artifact matching "models/*" is signed by ml', False),
    ],
)
def test_combinations_stay_undecided_only_while_the_answer_depends_on_it(
    compile_policy: Compile, require: str, decided: bool
) -> None:
    policy = compile_policy(require)
    result = run(policy, graph(policy, {"sha256": "s"}))
    assert (result.undecided == ()) is decided


def test_matches_the_workspace_from_the_lock(compile_policy: Compile) -> None:
    policy = compile_policy('every artifact matching "models/*" matches the workspace')
    assert run(policy, graph(policy, {"sha256": "s", "md5": "m"})).findings == ()
    [message] = rule_findings(run(policy, graph(policy, {"sha256": "s", "md5": "x"})))
    assert "att/train.link" in message and "dvc.lock" in message
    undecided = run(policy, graph(policy, {"sha256": "s"}))
    assert undecided.findings == () and len(undecided.undecided) == 1


def test_attested_with_about_the_bytes_the_lock_records(compile_policy: Compile) -> None:
    policy = compile_policy(f'every artifact matching "models/*" is attested with "{CALIBRATION}"')
    signed = {"sha256": "s", "md5": "m"}
    assert run(policy, graph(policy, signed, subject={"md5": "m"})).findings == ()
    [message] = rule_findings(run(policy, graph(policy, signed, subject={"md5": "x"})))
    assert "other bytes" in message
    result = run(policy, graph(policy, signed, subject={"sha256": "s"}))
    assert result.findings == () and len(result.undecided) == 1


def test_bytes_at_hand_are_judged_from_the_bytes(compile_policy: Compile) -> None:
    policy = compile_policy('every artifact matching "models/*" is signed by ml')
    g = graph(policy, {"sha256": "s"})
    g.g.nodes[g.artifact_id(MODEL)]["locked"] = None
    g.set_workspace(MODEL, WorkspaceFile("s", "m", 3, "dvc-cache"))
    assert run(policy, g).findings == () and g.unmaterialised() == {}


def test_a_missing_artifact_dvc_does_not_track_is_still_a_finding(compile_policy: Compile) -> None:
    policy = compile_policy('every artifact matching "models/*" is signed by ml')
    g = graph(policy, {"sha256": "s"})
    g.g.nodes[g.artifact_id(MODEL)]["locked"] = None
    [finding] = run(policy, g).findings
    assert "is not in the workspace" in finding.message
