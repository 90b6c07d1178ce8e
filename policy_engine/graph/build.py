"""Building the whole graph: every builder, in order, over one context."""

from __future__ import annotations

from policy_engine.graph.builders import BuildContext, Builder
from policy_engine.graph.builders.attestations import add_statements, build_attestations
from policy_engine.graph.builders.dvc import build_dvc
from policy_engine.graph.builders.modelsig import add_model_signatures, read_model_signatures
from policy_engine.graph.builders.workspace import build_workspace
from policy_engine.graph.model import ProvenanceGraph

# Order matters: pipelines, attestations and model signatures add artifacts (model
# signatures are found beside the artifacts before them); the workspace then hashes
# them; statements are matched to artifacts by name, and then by workspace digest;
# model signatures name their model at its current root digest.
BUILDERS: tuple[tuple[str, Builder], ...] = (
    ("dvc", build_dvc),
    ("attestations", build_attestations),
    ("model signatures", read_model_signatures),
    ("workspace", build_workspace),
    ("statements", add_statements),
    ("model signature facts", add_model_signatures),
)


def build_graph(context: BuildContext) -> ProvenanceGraph:
    """The provenance graph of ``context.root`` with its attestations and trusted keys."""
    graph = ProvenanceGraph(str(context.root))
    for _, builder in BUILDERS:
        builder(graph, context)
    return graph
