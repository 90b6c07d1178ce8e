"""The graph's nodes read in one pass give what reading them once per question gave."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from policy_engine.evaluate.nodes import index_nodes, may_disagree
from policy_engine.graph.model import (
    Attestation,
    DigestClaim,
    NodeKind,
    ProvenanceGraph,
    SignatureCheck,
    SignatureStatus,
    SourceRef,
    Step,
    WorkspaceFile,
)

LOCK = SourceRef("dvc.lock")


def naive_may_disagree(claims: list[DigestClaim], current: WorkspaceFile | None) -> bool:
    """Two distinct values of one algorithm among the claims and the bytes at hand (a
    sha256 always, the md5 when a claim names one; empty digests are no value)."""
    values: dict[str, set[str]] = {}
    for claim in claims:
        values.setdefault(claim.algorithm, set()).add(claim.value)
    if current is not None:
        for algorithm in ("sha256", "md5"):
            value = current.sha256 if algorithm == "sha256" else current.md5
            if algorithm in values and value:
                values[algorithm].add(value)
    return any(len(found) > 1 for found in values.values())


def random_graph(seed: int) -> ProvenanceGraph:
    """Artifacts with agreeing and disagreeing claims, bytes at hand or not (some with no
    sha256), steps and signed links among them."""
    rng = random.Random(seed)
    graph = ProvenanceGraph("/r")
    values = ["a", "b", ""]
    for i in range(40):
        graph.add_step(Step(f"s{i:02d}", SourceRef("dvc.yaml", i + 1)))
    for i in range(40):
        name = f"s{i:02d}"
        path = f"out/{i:02d}.bin"
        digest = {rng.choice(["md5", "sha256"]): rng.choice(values[:2])}
        graph.add_output(name, path, digest, LOCK)
        if rng.random() < 0.5:
            graph.add_input(path, f"s{(i + 1) % 40:02d}", {"md5": rng.choice(values)}, LOCK)
        if rng.random() < 0.7:
            graph.set_workspace(path, WorkspaceFile.of(rng.choice(values), rng.choice(values), 1))
        sha = {"sha256": rng.choice(values[:2])}
        signed = (SignatureCheck("k", SignatureStatus.VALID),)
        link = Attestation(f"{name}.link", "link", "metablock", name, products={path: sha})
        graph.add_attestation(
            link if rng.random() < 0.5 else replace(link, signatures=signed), LOCK
        )
    return graph


def naive_index(graph: ProvenanceGraph) -> dict[str, Any]:
    """The questions asked one pass each, as the evaluator asked them before."""
    nodes = graph.g.nodes(data=True)
    artifacts = [attrs for _, attrs in nodes if attrs["kind"] is NodeKind.ARTIFACT]
    return {
        "by_kind": {k: {n: a["data"] for n, a in nodes if a["kind"] is k} for k in NodeKind},
        "paths": {n: a["data"].path for n, a in nodes if a["kind"] is NodeKind.ARTIFACT},
        "current_sha256": {
            a["data"].path: a["workspace"].sha256 for a in artifacts if a["workspace"] is not None
        },
        "suspects": [
            a["data"].path for a in artifacts if naive_may_disagree(a["claims"], a["workspace"])
        ],
    }


@pytest.mark.parametrize("seed", range(12))
def test_one_pass_equals_a_pass_per_question(seed: int) -> None:
    graph = random_graph(seed)
    index, expected = index_nodes(graph), naive_index(graph)
    assert index.suspects  # the random graphs have disagreements to find
    for name, value in expected.items():
        found = getattr(index, name)
        assert found == value
        assert list(found) == list(value)  # in graph order too


def claim(algorithm: str, value: str) -> DigestClaim:
    return DigestClaim(algorithm, value, LOCK)


@pytest.mark.parametrize(
    ("claims", "current", "disagree"),
    [
        ([], None, False),
        ([claim("md5", "a"), claim("md5", "a")], None, False),
        ([claim("md5", "a"), claim("md5", "b")], None, True),
        ([claim("md5", "a"), claim("sha256", "b")], None, False),
        ([claim("sha256", "a")], WorkspaceFile.of("b", "x", 1), True),
        ([claim("sha256", "a")], WorkspaceFile.of("", "x", 1), False),  # no sha256 at hand
        ([claim("md5", "a")], WorkspaceFile.of("b", "a", 1), False),  # sha256 unclaimed
        ([claim("md5", "a")], WorkspaceFile.of("b", "c", 1), True),
        ([claim("md5", "a")], WorkspaceFile.of("b", "", 1), False),
        ([claim("etag", "a")], WorkspaceFile.of("b", "c", 1), False),  # nothing to compare
    ],
)
def test_may_disagree(
    claims: list[DigestClaim], current: WorkspaceFile | None, disagree: bool
) -> None:
    assert may_disagree(claims, current) is disagree
    assert naive_may_disagree(claims, current) is disagree


def test_md5_read_only_when_a_claim_names_one() -> None:
    def unread() -> str:
        raise AssertionError("the md5 was read")

    assert not may_disagree([claim("sha256", "a")], WorkspaceFile.of("a", unread, 1))
