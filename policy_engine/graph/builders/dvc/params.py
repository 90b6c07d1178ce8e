"""Params a stage ran with (its lock entry) against the params files now: ``params-changed``.

A params dependency is not a file edge: ``dvc.lock`` records the values of the
declared keys, not the file's digest. So, as ``dvc status`` does, the values
recorded are compared with the params file in the workspace, key by key
(``modified``, ``deleted``, ``new``); any difference means the stage's outputs
were not made with the params the repository now has. Each params file is read
once, by DVC's own loader (YAML, JSON, TOML, Python), and only when it is
inside the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.yamlload import refuse_alias_bombs
from policy_engine.graph.model import Evidence, Issue, SourceRef

if TYPE_CHECKING:
    from dvc.dependency import ParamsDependency
    from dvc.stage import Stage

    from policy_engine.graph.builders.dvc.context import Reading

_MISSING = object()


class ParamsFiles:
    """The current contents of params files, each loaded once (None when it is missing)."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self._files: dict[str, Any] = {}

    def check(self, stage: Stage, name: str, locked_at: SourceRef) -> None:
        """Add a ``params-changed`` issue when ``stage`` ran with other params than today's."""
        from dvc.dependency import ParamsDependency

        changed: dict[str, None] = {}
        evidence: list[Evidence] = []
        for dep in stage.deps:
            if isinstance(dep, ParamsDependency) and isinstance(dep.hash_info.value, Mapping):
                for path, key, was, now in self._changes(dep, name, locked_at):
                    changed[f"`{path}:{key}`"] = None
                    evidence.append(Evidence(f"{path}:{key} in the lock", was, str(locked_at)))
                    evidence.append(Evidence(f"{path}:{key} now", now, path))
        if changed:
            keys = ", ".join(changed)
            message = f"stage `{name}` ran with other params than the repository has now: {keys}"
            issue = Issue("params-changed", name, message, tuple(evidence))
            self.reading.graph.issues.append(issue)

    def _changes(
        self, dep: ParamsDependency, name: str, locked_at: SourceRef
    ) -> Iterator[tuple[str, str, str, str]]:
        """(params file, key, value recorded, value now) of each key that changed."""
        role = f"stage `{name}` params"
        path = self.reading.repo_path(dep.def_path, dep.stage.wdir, locked_at, role)
        if path is None:
            return
        current = self._load(dep, path)
        recorded = dep.hash_info.value
        actual = {} if current is None else _select(current, dep.params)
        for key in dep.params or list(dict.fromkeys([*actual, *recorded])):
            was, now = recorded.get(key, _MISSING), actual.get(key, _MISSING)
            if not (was is _MISSING and now is _MISSING) and not _same(was, now):
                yield path, key, _show(was), _show(now)

    def _load(self, dep: ParamsDependency, path: str) -> Any:
        if path not in self._files:
            self._files[path] = _read(dep, path)
        return self._files[path]


def _read(dep: ParamsDependency, path: str) -> Any:
    """The whole params file through DVC's loader; None when it does not exist."""
    from dvc.utils.serialize import ParseError, load_path

    if not dep.exists:
        return None
    refuse_alias_bombs(dep.fs_path, path)
    try:
        return load_path(dep.fs_path, dep.repo.fs)
    except ParseError as exc:
        raise InputError(f"invalid params file: {exc}", path) from exc


def _select(config: Any, keys: list[str]) -> dict[str, Any]:
    """The values of dotted ``keys`` in ``config`` (all of it when none), as DVC selects them."""
    import dpath

    if not keys:
        return dict(config) if isinstance(config, Mapping) else {}
    selected: dict[str, Any] = {}
    for key in keys:
        try:
            selected[key] = dpath.get(config, key, separator=".")
        except (KeyError, ValueError, TypeError):
            continue
    return selected


def _same(was: Any, now: Any) -> bool:
    """Equal as DVC compares them (a tuple read now equals the list the lock recorded)."""
    return was == now or (isinstance(now, tuple) and list(now) == was)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)
