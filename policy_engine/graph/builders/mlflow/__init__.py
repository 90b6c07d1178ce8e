"""The MLflow builder: runs, dataset inputs, logged models and model versions of the
tracking stores the policy declares (``mlflow in "mlflow.db"``), read offline.

Two builders: :func:`build_mlflow` reads the stores before the workspace is hashed
(so a dataset file becomes an artifact like any other), and
:func:`match_logged_artifacts` then links each run to the workspace files whose
bytes one of its artifacts has. MLflow is imported only when a store is declared.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from policy_engine.compiler import ir
from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.mlflow.artifacts import artifact_folder, digests
from policy_engine.graph.builders.mlflow.history import commit_statuses
from policy_engine.graph.builders.mlflow.records import StoreRecords, read_records
from policy_engine.graph.builders.mlflow.store import open_store, store_problem
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.graph.paths import PathEscape, normalise
from policy_engine.graph.tracking import (
    CommitStatus,
    add_logged_artifact,
    add_logged_model,
    add_model_version,
    add_run,
)

_DEFERRED = "mlflow-artifacts"  # sha256 -> run ids, for match_logged_artifacts


def build_mlflow(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Read every declared store; a store outside the repository is a located InputError."""
    logged: dict[str, set[str]] = context.deferred.setdefault(_DEFERRED, {})
    for store in context.tracking_stores:
        relative = _confined(context.root, store)
        records = _read(context.root, relative)
        _add_records(graph, context.root, records)
        for run, uri in records.artifact_uris.items():
            folder = artifact_folder(context.root, context.root / relative, uri)
            for digest in digests(context.root, folder) if folder else ():
                logged.setdefault(digest, set()).add(run)


def match_logged_artifacts(graph: ProvenanceGraph, context: BuildContext) -> None:
    """A LOGGED edge from each run to every workspace file one of its artifacts equals."""
    logged: dict[str, set[str]] = context.deferred.get(_DEFERRED, {})
    if not logged:
        return
    for artifact in sorted(graph.artifacts(), key=lambda a: a.path):
        current = graph.workspace(artifact.path)
        for run in sorted(logged.get(current.sha256, ()) if current else ()):
            add_logged_artifact(graph, run, artifact.path)


def _confined(root: Path, store: ir.TrackingStore) -> str:
    where = f"{store.location.file}:{store.location.line}:{store.location.column}"
    try:
        relative = normalise(root, store.path)
    except PathEscape as escape:
        raise InputError(f"MLflow store refused: {escape}", where) from None
    if not (root / relative).exists():
        raise InputError(f"MLflow store `{store.path}` not found", where)
    return relative


def _read(root: Path, relative: str) -> StoreRecords:
    try:
        with open_store(root / relative, relative) as client:
            return read_records(client, root, relative)
    except InputError:
        raise
    except Exception as exc:  # MLflow's and SQLAlchemy's errors: the store cannot be judged
        raise InputError(store_problem(exc), relative) from None


def _add_records(graph: ProvenanceGraph, root: Path, records: StoreRecords) -> None:
    statuses = commit_statuses(root, (r.commit for r in records.runs))
    for run in records.runs:
        add_run(graph, replace(run, commit_status=statuses.get(run.commit, CommitStatus.MISSING)))
    for model in records.logged_models:
        add_logged_model(graph, model)
    for version in records.versions:
        add_model_version(graph, version)
