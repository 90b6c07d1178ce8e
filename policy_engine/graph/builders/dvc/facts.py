"""Facts read off DVC's objects: digests, params values, path dependencies, origins."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.graph.model import Origin, SourceRef

if TYPE_CHECKING:
    from dvc.output import Output
    from dvc.stage import Stage


def lock_digest(item: Output) -> dict[str, str]:
    """The digest DVC read for ``item`` from the lock (or ``.dvc`` file); empty when none.

    ``{"md5": ...}`` (a directory's value ending in ``.dir``), ``{"md5-dos2unix": ...}``
    for a DVC 2 entry as DVC itself reads it, or e.g. ``{"etag": ...}`` for a URL.
    """
    info = item.hash_info
    if info and info.name and isinstance(info.value, str):
        return {info.name: info.value}
    return {}


def local(items: list[Output]) -> Iterator[Output]:
    """The items that are paths in the repository (not ``s3://``, ``https://``, ...)."""
    return (item for item in items if item.protocol == "local")


def path_deps(stage: Stage) -> Iterator[Output]:
    """The dependencies that are files or folders; not params, imports, datasets or databases."""
    from dvc.dependency import (
        DatasetDependency,
        DbDependency,
        ParamsDependency,
        RepoDependency,
    )

    special = (ParamsDependency, RepoDependency, DatasetDependency, DbDependency)
    return (dep for dep in local(stage.deps) if not isinstance(dep, special))


def command(cmd: str | list[str] | None) -> tuple[str, ...]:
    if not cmd:
        return ()
    return (cmd,) if isinstance(cmd, str) else tuple(str(part) for part in cmd)


def stage_params(stage: Stage) -> dict[str, Any]:
    """The params values the lock recorded for ``stage``, flattened to dotted keys.

    Keys of a params file other than the default ``params.yaml`` are prefixed
    ``<file as declared>:``.
    """
    from dvc.dependency import ParamsDependency

    params: dict[str, Any] = {}
    for dep in stage.deps:
        values = dep.hash_info.value if isinstance(dep, ParamsDependency) else None
        if not isinstance(values, Mapping):
            continue
        default = dep.def_path == ParamsDependency.DEFAULT_PARAMS_FILE
        prefix = "" if default else f"{dep.def_path}:"
        for key, value in _flatten(values, "").items():
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
            digest=lock_digest(dep),
            frozen=frozen,
        )
    if isinstance(dep, DbDependency):
        return Origin("import-db", source, frozen=frozen)
    return Origin("import-url", source, url=dep.def_path, digest=lock_digest(dep), frozen=frozen)
