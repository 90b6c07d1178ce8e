"""Lineage explanations computed in one pass equal the per-artifact searches they replace."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from policy_engine.evaluate.lineage import Lineage
from policy_engine.graph.model import ProvenanceGraph, SourceRef, Step


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
