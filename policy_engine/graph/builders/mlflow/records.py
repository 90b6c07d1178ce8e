"""Reading a tracking store's records through MLflow's client into plain frozen facts.

Dataset sources are joined to repository files here: MLflow records a source as
JSON with a ``uri`` (a local path, ``file://`` URI, or a remote location). Only
a path inside the repository names an artifact; anything else is kept as the
input's ``problem``. MLflow's dataset digest is kept as it is: MLflow's own
fingerprint, never compared with file digests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from policy_engine.errors import InputError
from policy_engine.graph.builders.mlflow.store import paged
from policy_engine.graph.model import SourceRef
from policy_engine.graph.paths import PathEscape, normalise
from policy_engine.graph.tracking import DatasetInput, LoggedModel, ModelVersion, Run
from policy_engine.inputs import loads

MAX_ENTRIES = 100_000
COMMIT_TAG = "mlflow.source.git.commit"
USER_TAG = "mlflow.user"
CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True)
class StoreRecords:
    """What one store holds: runs with their artifact locations, logged models, versions."""

    runs: tuple[Run, ...]
    artifact_uris: dict[str, str]  # run id -> artifact URI as MLflow recorded it
    logged_models: tuple[LoggedModel, ...]
    versions: tuple[ModelVersion, ...]


def read_records(client: Any, root: Path, store: str) -> StoreRecords:
    """Every active experiment's runs and logged models, every registered model version."""
    experiments = {e.experiment_id: e.name for e in paged(client.search_experiments, 10_000, store)}
    ids = sorted(experiments)
    raw_runs = paged(client.search_runs, MAX_ENTRIES, store, experiment_ids=ids) if ids else []
    runs = tuple(_run(r, experiments, root, store) for r in raw_runs)
    uris = {r.info.run_id: str(r.info.artifact_uri or "") for r in raw_runs}
    models = paged(client.search_logged_models, MAX_ENTRIES, store, experiment_ids=ids)
    return StoreRecords(
        runs,
        uris,
        tuple(_logged_model(m, store) for m in models) if ids else (),
        _versions(client, store),
    )


def _run(raw: Any, experiments: dict[str, str], root: Path, store: str) -> Run:
    info, data = raw.info, raw.data
    tags = dict(data.tags)
    inputs = raw.inputs.dataset_inputs if raw.inputs is not None else []
    return Run(
        run_id=info.run_id,
        experiment=experiments.get(info.experiment_id, info.experiment_id),
        name=str(info.run_name or ""),
        source=SourceRef(store, None, f"MLflow run {info.run_id}"),
        status=str(info.status or ""),
        user=tags.get(USER_TAG, str(info.user_id or "")),
        commit=tags.get(COMMIT_TAG, ""),
        params=dict(data.params),
        metrics={k: float(v) for k, v in data.metrics.items()},
        tags=tags,
        datasets=tuple(_dataset(i, root) for i in inputs),
    )


def _dataset(raw: Any, root: Path) -> DatasetInput:
    dataset = raw.dataset
    context = next((t.value for t in raw.tags or () if t.key == CONTEXT_TAG), "")
    path, problem = source_path(root, str(dataset.source_type), str(dataset.source))
    return DatasetInput(
        name=str(dataset.name),
        digest=str(dataset.digest),
        source_type=str(dataset.source_type),
        source=str(dataset.source),
        path=path,
        problem=problem,
        context=str(context),
    )


def source_path(root: Path, source_type: str, source: str) -> tuple[str | None, str]:
    """The repository path a dataset source names, or None and why it names none."""
    try:
        document = loads(source, "dataset source")
    except InputError:
        document = {"uri": source}
    uri = document.get("uri") if isinstance(document, dict) else None
    if not isinstance(uri, str) or not uri:
        return None, f"its `{source_type}` source names no path"
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file") and len(parsed.scheme) > 1:
        return None, f"its source `{parsed.scheme}://...` is not a repository file"
    raw = unquote(parsed.path) if parsed.scheme == "file" else uri
    if os.path.isabs(raw):
        real_root = os.path.realpath(root)
        if not os.path.realpath(raw).startswith(real_root + os.sep):
            return None, "its source is an absolute path outside the repository"
        raw = os.path.relpath(os.path.realpath(raw), real_root)
    try:
        return normalise(root, raw), ""
    except PathEscape as escape:
        return None, f"its source is not a repository file: {escape}"


def _logged_model(raw: Any, store: str) -> LoggedModel:
    return LoggedModel(
        model_id=str(raw.model_id),
        name=str(raw.name or ""),
        run_id=str(raw.source_run_id or ""),
        source=SourceRef(store, None, f"MLflow logged model {raw.model_id}"),
    )


def _versions(client: Any, store: str) -> tuple[ModelVersion, ...]:
    aliases: dict[tuple[str, str], list[str]] = {}
    for model in paged(client.search_registered_models, MAX_ENTRIES, store):
        for alias, version in dict(model.aliases or {}).items():
            aliases.setdefault((model.name, str(version)), []).append(alias)
    found = paged(client.search_model_versions, MAX_ENTRIES, store)
    return tuple(
        ModelVersion(
            name=v.name,
            version=str(v.version),
            source=SourceRef(store, None, f"MLflow model version {v.name}/{v.version}"),
            aliases=tuple(sorted(aliases.get((v.name, str(v.version)), []))),
            run_id=str(v.run_id or ""),
            model_id=str(getattr(v, "model_id", None) or "") or _model_in(str(v.source or "")),
        )
        for v in found
    )


def _model_in(source: str) -> str:
    """The logged model a version's source names (``models:/m-...``); SQLite keeps only that."""
    parsed = urlparse(source)
    name = parsed.path.strip("/")
    return name if parsed.scheme == "models" and name and "/" not in name else ""
