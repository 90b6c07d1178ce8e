"""Building the whole graph: every builder, in order, over one context."""

from __future__ import annotations

from collections.abc import Iterator

from policy_engine.graph.builders import BuildContext, Builder
from policy_engine.graph.builders.attestations import (
    add_statements,
    build_attestations,
    reading_started,
)
from policy_engine.graph.builders.dvc import build_dvc
from policy_engine.graph.builders.dvccache import build_dvc_cache
from policy_engine.graph.builders.mlflow import build_mlflow, match_logged_artifacts
from policy_engine.graph.builders.modelsig import add_model_signatures, read_model_signatures
from policy_engine.graph.builders.workspace import build_workspace
from policy_engine.graph.collector import keep, kept_built, paused_gc
from policy_engine.graph.model import ProvenanceGraph

# Order matters: pipelines, attestations, model signatures (found beside the artifacts
# before them) and MLflow runs (their dataset files) add artifacts; the workspace then
# hashes them, and the DVC cache gives DVC outputs missing from it their bytes (or
# records them as not materialised); statements are matched to artifacts by name, then
# by digest; model signatures name their model at its current root digest; the files
# MLflow runs logged are matched by digest.
BUILDERS: tuple[tuple[str, Builder], ...] = (
    ("dvc", build_dvc),
    ("attestations", build_attestations),
    ("model signatures", read_model_signatures),
    ("mlflow", build_mlflow),
    ("workspace", build_workspace),
    ("dvc-cache", build_dvc_cache),
    ("statements", add_statements),
    ("model signature facts", add_model_signatures),
    ("mlflow-artifacts", match_logged_artifacts),
)


def build_graph(context: BuildContext) -> ProvenanceGraph:
    """The provenance graph of ``context.root`` with its attestations and trusted keys."""
    graph = ProvenanceGraph(str(context.root))
    for _ in building(graph, context):
        pass
    return graph


def building(graph: ProvenanceGraph, context: BuildContext) -> Iterator[str]:
    """Run every builder in order over ``graph``, yielding each one's name once it has run.

    The cyclic garbage collector is paused throughout (see :mod:`.collector`), and
    what a builder made stays (the graph): once the collector runs again, it does
    not walk the graph built. The attestations' reading starts first
    (other processes, when used, read them while DVC loads); it is stopped, its
    workers reaped, when the build ends, fails or is closed early.
    """
    with paused_gc(), kept_built(), reading_started(context) as context:
        for name, builder in BUILDERS:
            builder(graph, context)
            keep()
            yield name
