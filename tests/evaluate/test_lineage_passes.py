"""Lineage explanations computed in one pass equal the per-artifact searches they replace."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from policy_engine.evaluate.lineage import Lineage
from policy_engine.graph.model import (
    Attestation,
    EdgeKind,
    NodeKind,
    ProvenanceGraph,
    SourceRef,
    Step,
)


def random_graph(seed: int) -> ProvenanceGraph:
    """Steps reading earlier artifacts (some with contradicting digests) and writing new ones."""
    rng = random.Random(seed)
    graph = ProvenanceGraph("/r")
    artifacts = [f"src/{i}.csv" for i in range(3)]
    for path in artifacts:
        graph.add_artifact(path)
    for i in range(25):
        name = f"s{i:02d}"
        graph.add_step(Step(name, SourceRef("dvc.yaml", i + 1)))
        for path in rng.sample(artifacts, min(len(artifacts), rng.randint(1, 3))):
            digest = {"md5": path if rng.random() > 0.2 else "other"}
            graph.add_input(path, name, digest, SourceRef("dvc.lock"))
        for j in range(rng.randint(1, 3)):
            path = f"out/{name}/{j:02d}.bin"
            graph.add_output(name, path, {"md5": path}, SourceRef("dvc.lock"))
            artifacts.append(path)
    return graph


def naive_breaks(lineage: Lineage, artifact: str) -> list:
    node = lineage.graph.artifact_id(artifact)
    upstream = nx.ancestors(lineage.full, node) | {node}
    return [b for (u, v), b in sorted(lineage.broken.items()) if u in upstream and v in upstream]


@pytest.mark.parametrize("seed", range(8))
def test_one_pass_explanations_equal_per_artifact_searches(seed: int) -> None:
    graph = random_graph(seed)
    lineage = Lineage(graph)
    assert lineage.broken  # the random graphs have contradictions to explain
    for artifact in graph.artifacts():
        assert lineage.upstream_breaks(artifact.path) == naive_breaks(lineage, artifact.path)
        expected = lineage.upstream_artifacts(artifact.path)[:10]
        assert lineage.first_upstream_artifacts(artifact.path) == expected


def linked_graph(seed: int) -> ProvenanceGraph:
    """Steps with DVC digests and links in md5 or sha256, some missing, some contradicting,
    some artifacts produced twice: every way an input edge can be valid or broken."""
    rng = random.Random(seed)
    graph = ProvenanceGraph("/r")
    artifacts = [f"src/{i}.csv" for i in range(3)]

    def digest(path: str) -> dict[str, str]:
        algorithm = rng.choice(("md5", "sha256"))
        return {} if rng.random() < 0.1 else {algorithm: path if rng.random() > 0.15 else "x"}

    for i in range(30):
        name = f"s{i:02d}"
        graph.add_step(Step(name, SourceRef("dvc.yaml", i + 1)))
        inputs = rng.sample(artifacts, min(len(artifacts), rng.randint(1, 3)))
        for path in inputs:
            graph.add_input(path, name, digest(path), SourceRef("dvc.lock"))
        outputs = [f"out/{name}/{j}.bin" for j in range(rng.randint(1, 3))]
        if rng.random() < 0.2:
            outputs.append(rng.choice(artifacts))  # a second producer (or a cycle)
        for path in outputs:
            graph.add_output(name, path, digest(path), SourceRef("dvc.lock"))
        for n in range(rng.randint(0, 2)):
            att = Attestation(
                f"{name}.{n}.link",
                "link",
                "metablock",
                name,
                materials={p: digest(p) for p in inputs if rng.random() > 0.3},
                products={p: digest(p) for p in outputs if rng.random() > 0.3},
            )
            graph.add_attestation(att, SourceRef(att.file))
        artifacts += outputs
    return graph


@pytest.mark.parametrize("seed", range(20))
def test_the_quick_input_check_agrees_with_the_explained_one(seed: int) -> None:
    graph = linked_graph(seed)
    lineage = Lineage(graph)
    verdicts = []
    for u, v, data in lineage.full.edges(data=True):
        if data["kind"] is EdgeKind.INPUT:
            path, step = lineage.paths[u], graph.g.nodes[v]["data"].name
            valid = lineage._check_input(path, step) is None
            assert lineage._agrees(u, path, step, data["digest"]) is valid, (path, step)
            verdicts.append((valid, u in lineage._disputed))
    # both answers occur, for artifacts whose digests may disagree and for the others
    assert {valid for valid, _ in verdicts} == {True, False}
    assert {disputed for _, disputed in verdicts} == {True, False}


@pytest.mark.parametrize("seed", range(20))
def test_every_recorded_digest_is_a_claim_on_its_artifact(seed: int) -> None:
    """What the quick input check relies on: an artifact with one value per algorithm among
    its claims has that value in every digest its edges and links record."""
    graph = linked_graph(seed)
    claims = {
        a.path: {(c.algorithm, c.value) for c in graph.claims(a.path)} for a in graph.artifacts()
    }
    nodes = graph.g.nodes
    for u, v, data in Lineage(graph).full.edges(data=True):
        path = nodes[u if data["kind"] is EdgeKind.INPUT else v]["data"].path
        assert set(data["digest"].items()) <= claims[path]
    for att in graph.attestations():
        for table in (att.materials, att.products):
            for path, digest in table.items():
                assert set(digest.items()) <= claims[path]


@pytest.mark.parametrize("seed", range(20))
def test_reachability_equals_networkx_search_over_valid_edges(seed: int) -> None:
    graph = linked_graph(seed)
    lineage = Lineage(graph)
    rng = random.Random(seed)
    nodes = sorted(lineage.full)
    valid = nx.restricted_view(lineage.full, [], list(lineage.broken))
    for valid_only in (True, False):
        flow = valid if valid_only else lineage.full
        for _ in range(5):
            sources = frozenset(rng.sample(nodes, rng.randint(1, 4)))
            first = sorted({v for s in sources for v in flow.successors(s)})
            seen = {n for layer in nx.bfs_layers(flow, first) for n in layer} if first else set()
            expected = {lineage.paths[n] for n in seen if n in lineage.paths}
            assert lineage.reached(sources, valid_only=valid_only) == expected


@pytest.mark.parametrize("seed", range(5))
def test_nodes_by_kind_are_the_graphs_queries(seed: int) -> None:
    graph = linked_graph(seed)
    graph.add_artifact("only/a/node.bin")
    nodes = Lineage(graph).nodes
    assert list(nodes[NodeKind.STEP].values()) == list(graph.steps())
    assert list(nodes[NodeKind.ATTESTATION].values()) == list(graph.attestations())
    assert list(nodes[NodeKind.ARTIFACT].values()) == list(graph.artifacts())
    assert list(nodes[NodeKind.ARTIFACT]) == [graph.artifact_id(a.path) for a in graph.artifacts()]


@pytest.mark.parametrize(
    ("recorded", "material"),
    [({}, None), ({}, {}), ({}, {"sha256": "a"}), ({"md5": "m"}, None), ({"md5": "m"}, {})],
)
def test_inputs_of_declared_sources(recorded: dict[str, str], material: dict | None) -> None:
    """No producer: valid when the step or one of its links recorded any digest of it."""
    graph = ProvenanceGraph("/r")
    graph.add_step(Step("train", SourceRef("dvc.yaml", 1)))
    graph.add_input("data/raw.csv", "train", recorded, SourceRef("dvc.lock"))
    if material is not None:
        att = Attestation(
            "train.link", "link", "metablock", "train", materials={"data/raw.csv": material}
        )
        graph.add_attestation(att, SourceRef(att.file))
    lineage, node = Lineage(graph), graph.artifact_id("data/raw.csv")
    valid = lineage._check_input("data/raw.csv", "train") is None
    assert lineage._agrees(node, "data/raw.csv", "train", recorded) is valid
    assert valid is bool(recorded or material)


def test_broken_edges_are_every_edge_checked_one_by_one() -> None:
    """The pass step by step finds what checking each edge of the flow, by its kind, finds."""
    kinds = set()
    for seed in range(20):
        graph = linked_graph(seed)
        lineage = Lineage(graph)
        expected = {}
        for u, v, data in lineage.full.edges(data=True):
            if data["kind"] is EdgeKind.INPUT:
                problem = lineage._check_input(lineage.paths[u], graph.g.nodes[v]["data"].name)
            else:
                problem = lineage._check_output(lineage.paths[v], graph.g.nodes[u]["data"].name)
            if problem is not None:
                expected[(u, v)] = problem
                kinds.add(data["kind"])
        assert lineage.broken == expected, seed
    assert kinds == {EdgeKind.INPUT, EdgeKind.OUTPUT}  # both kinds of edge were found broken
