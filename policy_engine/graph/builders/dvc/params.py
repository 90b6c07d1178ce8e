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
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from policy_engine import inputs
from policy_engine.errors import InputError
from policy_engine.graph.model import Evidence, Issue, SourceRef

if TYPE_CHECKING:
    from dvc.repo import Repo

    from policy_engine.graph.builders.dvc.context import Reading
    from policy_engine.graph.builders.dvc.records import ParamsFile, StageRecord

_MISSING = object()


class ParamsFiles:
    """The current contents of one project's params files, each loaded once (None: missing)."""

    def __init__(self, reading: Reading, repo: Repo) -> None:
        self.reading = reading
        self.repo = repo
        self._files: dict[str, Any] = {}
        self._selected: dict[tuple[str, str], Any] = {}  # (file, key): its value now

    def check(self, stage: StageRecord, name: str, locked_at: SourceRef) -> None:
        """Add a ``params-changed`` issue when ``stage`` ran with other params than today's."""
        changed: dict[str, None] = {}
        evidence: list[Evidence] = []
        for dep in stage.params:
            if dep.values is not None:
                for path, key, was, now in self._changes(dep, stage.wdir, name, locked_at):
                    changed[f"`{path}:{key}`"] = None
                    evidence.append(Evidence(f"{path}:{key} in the lock", was, str(locked_at)))
                    evidence.append(Evidence(f"{path}:{key} now", now, path))
        if changed:
            keys = ", ".join(changed)
            message = f"stage `{name}` ran with other params than the repository has now: {keys}"
            issue = Issue("params-changed", name, message, tuple(evidence))
            self.reading.graph.issues.append(issue)

    def _changes(
        self, dep: ParamsFile, wdir: str, name: str, locked_at: SourceRef
    ) -> Iterator[tuple[str, str, str, str]]:
        """(params file, key, value recorded, value now) of each key that changed."""
        role = f"stage `{name}` params"
        path = self.reading.repo_path(dep.path, wdir, locked_at, role)
        if path is None or dep.values is None:
            return
        fs_path = os.path.abspath(os.path.normpath(os.path.join(wdir, dep.path)))
        current = self._load(fs_path, path)
        recorded = dep.values
        actual = {} if current is None else self._select(path, current, dep.keys)
        for key in dep.keys or list(dict.fromkeys([*actual, *recorded])):
            was, now = recorded.get(key, _MISSING), actual.get(key, _MISSING)
            if not (was is _MISSING and now is _MISSING) and not _same(was, now):
                yield path, key, _show(was), _show(now)

    def _load(self, fs_path: str, path: str) -> Any:
        if path not in self._files:
            self._files[path] = _read(self.repo, fs_path, path)
        return self._files[path]

    def _select(self, path: str, config: Any, keys: tuple[str, ...]) -> dict[str, Any]:
        """:func:`_select` of ``config`` (the file at ``path``), each key selected once."""
        if not keys:
            return _select(config, keys)
        selected: dict[str, Any] = {}
        for key in keys:
            if (path, key) not in self._selected:
                self._selected[path, key] = _select(config, (key,)).get(key, _MISSING)
            value = self._selected[path, key]
            if value is not _MISSING:
                selected[key] = value
        return selected


def _read(repo: Repo, fs_path: str, path: str) -> Any:
    """The whole params file parsed by DVC's parser for its suffix (as DVC's ``load_path``);
    None when it does not exist. The file is read by :func:`read_params_text`."""
    from dvc.utils.serialize import PARSERS, ParseError

    if not repo.fs.exists(fs_path):
        return None
    text = read_params_text(fs_path, path, repo.root_dir)
    try:
        return PARSERS[os.path.splitext(path)[1].lower()](text, path)
    except ParseError as exc:
        raise InputError(f"invalid params file: {exc}", path) from exc


def read_params_text(fs_path: str, path: str, root: str) -> str:
    """The text of the params (or vars) file ``fs_path``, read as repository input: a regular
    file inside ``root``, bounded; a file DVC parses as YAML has its aliases budgeted.

    ``path`` (repository-relative) locates the :class:`InputError` of a refusal.
    """
    from dvc.utils.serialize import PARSERS, parse_yaml

    text = inputs.read_text(fs_path, path, roots=(root,), what="params file")
    if PARSERS[os.path.splitext(path)[1].lower()] is parse_yaml:  # any other suffix is YAML
        inputs.check_yaml_aliases(text, path)
    return text


def _select(config: Any, keys: tuple[str, ...]) -> dict[str, Any]:
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
