"""Facts read off DVC's stages: params values, path dependencies, commands, origins."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.graph.builders.dvc.records import PATH, Item, StageRecord, digest_of
from policy_engine.graph.model import Origin, SourceRef

if TYPE_CHECKING:
    from dvc.stage import Stage

DEFAULT_PARAMS_FILE = "params.yaml"  # DVC's ParamsDependency.DEFAULT_PARAMS_FILE


def local(items: tuple[Item, ...]) -> Iterator[Item]:
    """The items that are paths in the repository (not ``s3://``, ``https://``, ...)."""
    return (item for item in items if item.local)


def path_deps(stage: StageRecord) -> Iterator[Item]:
    """The dependencies that are files or folders; not params, imports, datasets or databases."""
    return (dep for dep in local(stage.deps) if dep.kind == PATH)


def command(cmd: str | list[str] | None) -> tuple[str, ...]:
    if not cmd:
        return ()
    return (cmd,) if isinstance(cmd, str) else tuple(str(part) for part in cmd)


def stage_params(stage: StageRecord) -> dict[str, Any]:
    """The params values the lock recorded for ``stage``, flattened to dotted keys.

    Keys of a params file other than the default ``params.yaml`` are prefixed
    ``<file as declared>:``.
    """
    params: dict[str, Any] = {}
    for dep in stage.params:
        if dep.values is None:
            continue
        prefix = "" if dep.path == DEFAULT_PARAMS_FILE else f"{dep.path}:"
        for key, value in _flatten(dep.values, "").items():
            params[prefix + key] = value
    return params


def _flatten(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def origin_of(stage: Stage, source: SourceRef) -> Origin:
    """Where the outputs of the ``.dvc`` file ``stage`` came from (see :class:`Origin`)."""
    from dvc.dependency import DbDependency, RepoDependency

    frozen = bool(stage.frozen)
    if not stage.is_import:
        return Origin("added", source, frozen=frozen)
    dep = stage.deps[0]
    if isinstance(dep, RepoDependency):
        repo = dep.def_repo
        return Origin(
            "import",
            source,
            url=repo.get(RepoDependency.PARAM_URL),
            path=dep.def_path,
            rev=repo.get(RepoDependency.PARAM_REV),
            rev_lock=repo.get(RepoDependency.PARAM_REV_LOCK),
            digest=digest_of(dep),
            frozen=frozen,
        )
    if isinstance(dep, DbDependency):
        return Origin("import-db", source, frozen=frozen)
    return Origin("import-url", source, url=dep.def_path, digest=digest_of(dep), frozen=frozen)
