"""Experiment tracking facts on the provenance graph: MLflow runs, logged models, versions.

Edges::

    artifact --DATASET--> run              (a dataset input whose source is that file)
    run --LOGGED--> artifact               (a run artifact with the file's exact bytes)
    run --LOGGED--> logged model --REGISTERED--> model version
    run --REGISTERED--> model version      (a version registered from the run itself)

MLflow's dataset ``digest`` is MLflow's own fingerprint of the data it was given,
not a file digest: it never becomes a digest claim. A dataset input is joined to
an artifact through its source (the path it names); the artifact's digests come
from DVC and the workspace as for any other artifact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from policy_engine.graph.model import EdgeKind, NodeKind, ProvenanceGraph, SourceRef


class CommitStatus(str, Enum):
    """Where a run's ``mlflow.source.git.commit`` sits in the repository's history."""

    HEAD = "head"  # the commit checked out
    ANCESTOR = "ancestor"  # an ancestor of it
    OTHER = "not-in-history"  # a commit HEAD does not contain (or not in the repository)
    MISSING = "missing"  # the run recorded no commit
    UNKNOWN = "unknown"  # the repository's history could not be read


@dataclass(frozen=True)
class DatasetInput:
    """A dataset input of a run; ``path`` is the repository file its source names, if any."""

    name: str
    digest: str  # MLflow's fingerprint, not a digest of the file's bytes
    source_type: str
    source: str  # as MLflow recorded it
    path: str | None = None
    problem: str = ""  # why the source names no repository file
    context: str = ""  # the input's `mlflow.data.context` tag, e.g. training


@dataclass(frozen=True)
class Run:
    """An MLflow run, read from a tracking store (``source``)."""

    run_id: str
    experiment: str
    name: str
    source: SourceRef
    status: str = ""
    user: str = ""
    commit: str = ""
    commit_status: CommitStatus = CommitStatus.MISSING
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    datasets: tuple[DatasetInput, ...] = ()

    @property
    def subject(self) -> str:
        return f"runs:/{self.run_id}"


@dataclass(frozen=True)
class LoggedModel:
    """An MLflow 3 logged model, and the run that logged it (if any)."""

    model_id: str
    name: str
    run_id: str
    source: SourceRef


@dataclass(frozen=True)
class ModelVersion:
    """A version of a registered model, the aliases pointing at it, and what it came from."""

    name: str
    version: str
    source: SourceRef
    aliases: tuple[str, ...] = ()
    run_id: str = ""
    model_id: str = ""

    @property
    def subject(self) -> str:
        return f"models:/{self.name}/{self.version}"


def run_id(run: str) -> str:
    return f"run:{run}"


def logged_model_id(model: str) -> str:
    return f"logged-model:{model}"


def version_id(name: str, version: str) -> str:
    return f"model-version:{name}/{version}"


def add_run(graph: ProvenanceGraph, run: Run) -> None:
    """A run node, and a DATASET edge from each dataset input that names a repository file."""
    node = run_id(run.run_id)
    graph.g.add_node(node, kind=NodeKind.RUN, data=run)
    for dataset in run.datasets:
        if dataset.path is not None:
            edge = EdgeKind.DATASET
            artifact = graph.add_artifact(dataset.path)
            graph.g.add_edge(artifact, node, key=edge.value, kind=edge, source=run.source)


def add_logged_artifact(graph: ProvenanceGraph, run: str, path: str) -> None:
    """A run logged an artifact with exactly the bytes the workspace has at ``path``."""
    edge = EdgeKind.LOGGED
    graph.g.add_edge(run_id(run), graph.artifact_id(path), key=edge.value, kind=edge)


def add_logged_model(graph: ProvenanceGraph, model: LoggedModel) -> None:
    node = logged_model_id(model.model_id)
    graph.g.add_node(node, kind=NodeKind.LOGGED_MODEL, data=model)
    if model.run_id and run_id(model.run_id) in graph.g:
        graph.g.add_edge(run_id(model.run_id), node, key="logged", kind=EdgeKind.LOGGED)


def add_model_version(graph: ProvenanceGraph, version: ModelVersion) -> None:
    """A version node, REGISTERED from its logged model, or from its run."""
    node = version_id(version.name, version.version)
    graph.g.add_node(node, kind=NodeKind.MODEL_VERSION, data=version)
    origin = logged_model_id(version.model_id) if version.model_id else ""
    if origin not in graph.g:
        origin = run_id(version.run_id) if version.run_id else ""
    if origin in graph.g:
        graph.g.add_edge(origin, node, key="registered", kind=EdgeKind.REGISTERED)


def _of_kind(graph: ProvenanceGraph, kind: NodeKind) -> Iterator[Any]:
    return (d["data"] for _, d in graph.g.nodes(data=True) if d["kind"] is kind)


def runs(graph: ProvenanceGraph) -> Iterator[Run]:
    return _of_kind(graph, NodeKind.RUN)


def model_versions(graph: ProvenanceGraph) -> Iterator[ModelVersion]:
    return _of_kind(graph, NodeKind.MODEL_VERSION)


def version_run(graph: ProvenanceGraph, version: ModelVersion) -> Run | None:
    """The run a version comes from: its own run id, or its logged model's run."""
    node = version_id(version.name, version.version)
    for origin, _ in graph.g.in_edges(node):
        data = graph.g.nodes[origin]["data"]
        if isinstance(data, Run):
            return data
        for run_node, _ in graph.g.in_edges(origin):
            found = graph.g.nodes[run_node]["data"]
            if isinstance(found, Run):
                return found
    return None


def logging_runs(graph: ProvenanceGraph, path: str) -> list[Run]:
    """The runs that logged an artifact with the bytes the workspace has at ``path``."""
    node = graph.artifact_id(path)
    if node not in graph.g:
        return []
    found = (graph.g.nodes[u]["data"] for u, _ in graph.g.in_edges(node))
    return sorted((r for r in found if isinstance(r, Run)), key=lambda r: r.run_id)
