"""Screens decide in bulk which subjects surely hold; they must agree with the evaluators.

A screen may leave out a subject that holds (it is then evaluated in full), never
include one that does not. The evaluation with screens must equal the one without,
finding for finding, on the case corpus and on generated graphs with failures of
every kind (stale and missing signatures, outsiders, bytes not materialised, broken
lineage, folders signed file by file).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from policy_engine.compiler import compile_modules, ir
from policy_engine.evaluate import evaluate
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.predicates import registry, signatures
from policy_engine.evaluate.selectors import select
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
from policy_engine.testing.runner import PolicyTest
from policy_engine.testing.spec import build_graph

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
CASES = Path(__file__).parent / "cases"
EXACT = (ir.DerivesFrom, ir.HasLineageThrough, ir.ReachesSource, ir.PerformedBy)
POLICY = """\
policy "screens"
key alice from "keys/alice.pub"
key bob from "keys/bob.pub"
key mallory from "keys/mallory.pub"
role team = alice, bob
role outsiders = mallory
stage model_training = steps "s*"
control S-1 "signed" {
  severity high
  stage model_training
  require every artifact matching "out/**" is signed by at least 2 of team
}
control S-2 "signed once" {
  severity high
  stage model_training
  require every artifact matching "out/**", "dir/**" is signed by team
}
control L-1 "lineage" {
  severity high
  stage model_training
  require every artifact matching "out/**" derives from artifacts matching "data/*"
}
control L-2 "through" {
  severity high
  stage model_training
  require every artifact matching "out/**" has lineage through artifacts matching "out/s01/*"
}
control L-3 "sources" {
  severity high
  stage model_training
  require every artifact matching "out/**" reaches a declared source
}
control P-1 "performed" {
  severity high
  stage model_training
  require every step in model_training is performed by at least 2 of team
}
"""


def _corpus() -> list[tuple[str, int]]:
    return [
        (path.name, index)
        for path in sorted(CASES.glob("*.yaml"))
        for index, _ in enumerate(yaml.safe_load(path.read_text())["tests"])
    ]


def _compile(text: str, name: str, root: Path) -> ir.PolicySet:
    parsed = parse_text(text, name)
    assert parsed.diagnostics == ()
    compiled = compile_modules([parsed.module], root)
    assert compiled.policy is not None, compiled.diagnostics
    return compiled.policy


def _assert_screens_agree(policy: ir.PolicySet, graph: ProvenanceGraph) -> int:
    """Each screen's subjects hold (exactly those, for the exact screens); how many held."""
    ctx = EvalContext(policy, graph, NOW)
    held = 0
    for rule in (r for c in policy.controls for r in c.rules):
        screen = registry.SCREENS.get(type(rule.predicate))
        if screen is None:
            continue
        kind, subjects = rule.selector.subject, select(rule.selector, ctx)
        passed = set(screen(rule.predicate, kind, subjects, ctx)) & set(subjects)
        holds = {
            s
            for s in subjects
            if registry.evaluate_predicate(rule.predicate, Subject(kind, s), ctx).holds
        }
        assert passed <= holds, sorted(passed - holds)
        if isinstance(rule.predicate, EXACT):
            assert passed == holds, sorted(holds - passed)
        held += len(passed)
    return held


def _assert_same_evaluation(
    policy: ir.PolicySet, graph: ProvenanceGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    screened = evaluate(policy, graph, NOW)
    with monkeypatch.context() as patch:
        patch.setattr(registry, "SCREENS", {})
        assert evaluate(policy, graph, NOW) == screened


@pytest.mark.parametrize(("name", "index"), _corpus())
def test_screens_agree_on_the_case_corpus(
    name: str,
    index: int,
    tmp_path: Path,
    key_dir: Callable[[Path], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = yaml.safe_load((CASES / name).read_text())
    key_dir(tmp_path)
    policy = _compile(document["policy"], name, tmp_path)
    case = PolicyTest.model_validate(document["tests"][index])
    assert case.graph is not None
    graph = build_graph(case.graph, policy)
    _assert_screens_agree(policy, graph)
    _assert_same_evaluation(policy, graph, monkeypatch)


# -- generated graphs: a chain of steps, each file signed, with failures sown at random ----


def _link(step: str, n: int, keyids: list[str], products: dict, materials: dict) -> Attestation:
    return Attestation(
        file=f"att/{step}.{n}.link",
        kind="link",
        envelope="metablock",
        step_name=step,
        materials=materials,
        products=products,
        signatures=tuple(SignatureCheck(k, SignatureStatus.VALID) for k in keyids),
    )


def _signers(rng: random.Random, keyid: dict[str, str]) -> list[str]:
    roll = rng.random()
    if roll < 0.08:
        return [keyid["mallory"]]  # an outsider
    if roll < 0.12:
        return []  # no valid signature
    return [keyid["alice"] if rng.random() < 0.5 else keyid["bob"]]


def generated(policy: ir.PolicySet, seed: int) -> ProvenanceGraph:
    """Steps s00.. consuming the previous step's outputs, each output signed by two links."""
    rng = random.Random(seed)
    keyid = {name: key.keyid for name, key in policy.keys.items()}
    graph = ProvenanceGraph("/repo")
    lock, previous = SourceRef("dvc.lock", 1, "lock"), ["data/a.csv", "data/b.csv"]
    for path in previous:
        graph.add_artifact(path)
        graph.add_claim(path, DigestClaim("md5", f"md5-{path}", SourceRef(f"{path}.dvc")))
        graph.set_workspace(path, WorkspaceFile(f"sha-{path}", f"md5-{path}", 1))
    for i in range(14):
        step = f"s{i:02d}"
        graph.add_step(Step(step, SourceRef("dvc.yaml", i + 1)))
        outputs = [f"out/{step}/{j}.bin" for j in range(rng.randint(1, 4))]
        inputs = rng.sample(previous, min(len(previous), rng.randint(1, 3)))
        consumed = {p: f"md5-{p}" if rng.random() > 0.1 else "md5-other" for p in inputs}
        for path in inputs:
            graph.add_input(path, step, {"md5": consumed[path]}, lock)
        for path in outputs:
            graph.add_output(
                step, path, {"md5": f"md5-{path}"} if rng.random() > 0.05 else {}, lock
            )
        _bytes(graph, rng, outputs)
        for n in range(2):
            products = {p: _signed_digest(rng, p) for p in outputs if rng.random() > 0.1}
            materials = {p: {"sha256": f"sha-{p}"} for p in inputs}
            att = _link(step, n, _signers(rng, keyid), products, materials)
            graph.add_attestation(att, SourceRef(att.file))
        previous = outputs
    _folder(graph, keyid)
    return graph


def _signed_digest(rng: random.Random, path: str) -> dict[str, str]:
    roll = rng.random()
    if roll < 0.1:
        return {"sha256": "sha-stale"}  # the bytes changed after they were signed
    if roll < 0.15:
        return {"md5": f"md5-{path}"}
    return {"sha256": f"sha-{path}"}


def _bytes(graph: ProvenanceGraph, rng: random.Random, outputs: list[str]) -> None:
    """Most outputs at hand; some only locked (judged from DVC's md5), some nowhere."""
    for path in outputs:
        roll = rng.random()
        if roll < 0.1:
            graph.set_locked(path, DigestClaim("md5", f"md5-{path}", SourceRef("dvc.lock", 1)))
        elif roll > 0.05:
            graph.set_workspace(path, WorkspaceFile(f"sha-{path}", f"md5-{path}", 1))


def _folder(graph: ProvenanceGraph, keyid: dict[str, str]) -> None:
    """A DVC folder no link names, its files signed one by one (one of them not)."""
    graph.add_step(Step("pack", SourceRef("dvc.yaml", 99)))
    graph.add_output("pack", "dir/m", {"md5": "abc.dir"}, SourceRef("dvc.lock", 99))
    files = {f"dir/m/{n}": {"sha256": f"sha-dir/m/{n}"} for n in range(3)}
    for path, digest in files.items():
        graph.add_claim(
            path, DigestClaim("md5", f"md5-{path}", SourceRef("x.dir", None, "manifest"))
        )
        graph.set_workspace(path, WorkspaceFile(digest["sha256"], f"md5-{path}", 1))
    graph.set_workspace("dir/m", WorkspaceFile("sha-folder", "abc.dir", 3))
    signed = dict(list(files.items())[:2])
    att = _link("pack", 0, [keyid["alice"]], signed, {})
    graph.add_attestation(att, SourceRef(att.file))


@pytest.mark.parametrize("seed", range(12))
def test_screens_agree_on_generated_graphs(
    seed: int, tmp_path: Path, key_dir: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_dir(tmp_path)
    policy = _compile(POLICY, "screens.policy", tmp_path)
    graph = generated(policy, seed)
    assert _assert_screens_agree(policy, graph) > 0  # the screens did pass some subjects
    _assert_same_evaluation(policy, graph, monkeypatch)
    assert evaluate(policy, graph, NOW).findings  # and failures were sown


def test_a_screen_passing_a_failing_subject_would_be_caught(
    tmp_path: Path, key_dir: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison above can fail: a screen that passes everything changes the findings."""
    key_dir(tmp_path)
    policy = _compile(POLICY, "screens.policy", tmp_path)
    graph = generated(policy, 0)
    honest = evaluate(policy, graph, NOW)
    with monkeypatch.context() as patch:
        lax = dict(registry.SCREENS)
        lax[ir.SignedBy] = lambda pred, kind, subjects, ctx: set(subjects)
        patch.setattr(registry, "SCREENS", lax)
        assert evaluate(policy, graph, NOW).findings != honest.findings


@pytest.mark.parametrize("seed", range(10))
def test_items_in_at_least_count_sets_are_counted_exactly(seed: int) -> None:
    rng = random.Random(seed)
    sets = [set(rng.sample(range(12), rng.randint(0, 12))) for _ in range(rng.randint(1, 4))]
    for count in range(1, len(sets) + 2):
        expected = {i for i in range(12) if sum(i in s for s in sets) >= count}
        assert signatures._in_at_least(count, sets) == expected, (sets, count)


def test_a_null_digest_does_not_sign_bytes_not_at_hand(
    tmp_path: Path, key_dir: Callable[[Path], Path]
) -> None:
    """A hostile product digest (``null``) must not equal the absence of current bytes."""
    key_dir(tmp_path)
    policy = _compile(POLICY, "screens.policy", tmp_path)
    keyids = [policy.keys[name].keyid for name in ("alice", "bob")]
    graph = ProvenanceGraph("/repo")
    graph.add_step(Step("s00", SourceRef("dvc.yaml", 1)))
    graph.add_output("s00", "out/gone.bin", {}, SourceRef("dvc.lock", 1))
    graph.add_output("s00", "out/here.bin", {}, SourceRef("dvc.lock", 1))
    graph.set_workspace("out/here.bin", WorkspaceFile("sha-here", "md5-here", 1))
    products = {"out/gone.bin": {"sha256": None}, "out/here.bin": {"sha256": "sha-here"}}
    for n, keyid in enumerate(keyids):
        graph.add_attestation(_link("s00", n, [keyid], products, {}), SourceRef(f"{n}.link"))
    rule = policy.controls[0].rules[0]
    ctx = EvalContext(policy, graph, NOW)
    subjects = select(rule.selector, ctx)
    assert signatures.signed_by_screen(rule.predicate, "artifacts", subjects, ctx) == {
        "out/here.bin"
    }
