"""Builder for DVC pipelines: stages, what they consumed and produced, and ``dvc.lock``'s digests.

DVC's own loader reads the project (``dvc.repo.Repo`` and ``dvc.repo.index.Index``),
so ``vars``, ``foreach``, ``matrix``, params interpolation, ``wdir``, several
``dvc.yaml`` files in subfolders, ``.dvcignore``/``.gitignore`` handling and both
lock formats behave exactly as in DVC. Nothing is run: no DVC command, no stage
command, no hashing of the workspace (the lock's digests are claims; the workspace
builder adds the real ones). DVC is imported only when a project is read.

What is added:

* one :class:`Step` per pipeline stage. A stage of the root ``dvc.yaml`` keeps
  DVC's name (``train``, ``each@a``, ``grid@x-1``); a stage of another
  ``dvc.yaml`` gets DVC's address from the repository root
  (``sub/dvc.yaml:train``), so equally named stages of different files never
  collide. ``params`` are the values ``dvc.lock`` recorded, flattened to dotted
  keys; keys of a params file other than the stage's ``params.yaml`` are
  prefixed ``<file as declared>:``;
* an INPUT edge per path dependency and an OUTPUT edge per output, carrying
  the lock's digest (``{"md5": ...}``, a directory's value ending in ``.dir``;
  ``{"md5-dos2unix": ...}`` for a DVC 2 lock entry, as DVC itself reads it;
  empty when the lock has no entry). Params, ``ds://``, ``db`` and URL
  dependencies are not path edges;
* for a ``.dvc`` file (``dvc add``, ``dvc import``): its outputs with the digest
  it claims and no producing step: they are declared sources.

Reading changes nothing in the repository: DVC's ``Repo`` would create
``.dvc/tmp`` (lock, ``btime``), open a state database in a site cache dir and
may add entries to ``.dvc/.gitignore``. :class:`ReadOnlyRepo` points the tmp
and site cache dirs at a scratch directory outside the repository, removed
afterwards, and skips the ``.gitignore`` update; nothing here takes DVC's lock
or writes. So a read-only checkout can be read too.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import yaml

from policy_engine.errors import InputError
from policy_engine.graph.model import (
    DigestClaim,
    Evidence,
    Issue,
    ProvenanceGraph,
    SourceRef,
    Step,
)
from policy_engine.graph.paths import PathEscape, normalise

if TYPE_CHECKING:
    from dvc.output import Output
    from dvc.repo import Repo
    from dvc.stage import PipelineStage, Stage

    from policy_engine.graph.builders import BuildContext

PIPELINE_FILES = ("dvc.yaml", "dvc.lock")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def build_dvc(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Add the DVC project at ``context.root``: stages, their inputs and outputs, sources.

    Sources are the artifacts of ``.dvc`` files (``dvc add``, ``dvc import``). A
    root without a ``.dvc`` directory adds nothing, unless it has a ``dvc.yaml`` or
    ``dvc.lock`` DVC could not load (an :class:`InputError`). An unreadable or
    invalid DVC file raises :class:`InputError` naming the file (and line when DVC
    gives it); a path leaving the repository is a ``path-escape`` issue.
    """
    root = Path(context.root)
    if not (root / ".dvc").is_dir():
        _refuse_orphan_pipeline(root)
        return
    with open_read_only(root) as repo:
        stages = load_stages(repo)
        reader = _Reader(graph, root, repo.root_dir)
        for stage in stages:
            reader.add_stage(stage)


def _refuse_orphan_pipeline(root: Path) -> None:
    for name in PIPELINE_FILES:
        if (root / name).exists():
            raise InputError(
                "a DVC pipeline file but no `.dvc` directory: not a DVC repository, "
                "so DVC cannot load it",
                name,
            )


@functools.cache
def _read_only_repo_class() -> type[Repo]:
    from dvc.repo import Repo

    class ReadOnlyRepo(Repo):
        """DVC's ``Repo`` with its tmp dir and site cache in ``scratch``; no ``.gitignore`` edit."""

        def __init__(self, root_dir: str, scratch: str) -> None:
            self._scratch = scratch
            super().__init__(root_dir)

        @property
        def tmp_dir(self) -> str:  # DVC: <root>/.dvc/tmp (lock files, btime)
            return os.path.join(self._scratch, "tmp")

        @property
        def site_cache_dir(self) -> str:  # DVC: a per-user dir (state DB, data index)
            return os.path.join(self._scratch, "site")

        def _ignore(self) -> None:  # DVC: adds tmp, cache and config.local to .gitignore
            return None

    return ReadOnlyRepo


@contextmanager
def open_read_only(root: Path) -> Iterator[Repo]:
    """Open the DVC repository at ``root`` so that reading it writes nothing inside it.

    DVC's scratch files go to a temporary directory, removed on exit. A broken DVC
    config or SCM raises :class:`InputError`.
    """
    with tempfile.TemporaryDirectory(prefix="mlpolicy-dvc-") as scratch:
        try:
            repo = _read_only_repo_class()(os.fspath(root), scratch)
        except Exception as exc:  # DVC's config, SCM or plugin errors: cannot judge
            raise InputError(f"cannot open the DVC repository: {_describe(exc)}") from exc
        try:
            yield repo
        finally:
            repo.close()


def load_stages(repo: Repo) -> list[Stage]:
    """All stages of the project, as DVC's index collects them, ordered by file.

    Stages of one file keep their order in it. Any failure to load a DVC file
    raises :class:`InputError` naming the file.
    """
    from dvc.repo.index import Index

    def fail(path: str, exc: Exception) -> None:
        raise _input_error(exc, repo.root_dir, path) from exc

    try:
        index = Index.from_repo(repo, onerror=fail)
    except InputError:
        raise
    except Exception as exc:  # e.g. a missing DVC plugin for a remote dependency
        raise _input_error(exc, repo.root_dir, None) from exc
    return sorted(index.stages, key=lambda stage: _relative(repo.root_dir, stage.path))


class _Reader:
    """Adds stages to the graph; knows the root and caches where stages are defined."""

    def __init__(self, graph: ProvenanceGraph, root: Path, root_dir: str) -> None:
        self.graph = graph
        self.root = root
        self.root_dir = root_dir
        self._lines: dict[str, dict[str, int]] = {}

    def add_stage(self, stage: Stage) -> None:
        from dvc.stage import PipelineStage

        if isinstance(stage, PipelineStage):
            self.add_pipeline_stage(stage)
        else:
            self.add_declared_source(stage)

    def add_pipeline_stage(self, stage: PipelineStage) -> None:
        dvcfile = self.rel(stage.path)
        name = stage.name if dvcfile == "dvc.yaml" else f"{dvcfile}:{stage.name}"
        definition = SourceRef(
            dvcfile, self.line(stage.path, stage.name.split("@")[0]), "dvc.yaml stage"
        )
        self.graph.add_step(
            Step(
                name=name,
                source=definition,
                cmd=_cmd(stage.cmd),
                meta=dict(stage.meta or {}),
                desc=stage.desc,
                params=stage_params(stage),
                frozen=bool(stage.frozen),
            )
        )
        lock_path = os.path.splitext(stage.path)[0] + ".lock"
        lock, lock_line = self.rel(lock_path), self.line(lock_path, stage.name)
        for dep in _path_deps(stage):
            source = SourceRef(lock, lock_line, f"stage `{stage.name}` dep")
            path = self.repo_path(dep.def_path, stage.wdir, definition, f"stage `{name}` dep")
            if path is not None:
                self.graph.add_input(path, name, lock_digest(dep), source)
        for out in _local(stage.outs):
            source = SourceRef(lock, lock_line, f"stage `{stage.name}` out")
            path = self.repo_path(out.def_path, stage.wdir, definition, f"stage `{name}` out")
            if path is not None:
                self.graph.add_output(name, path, lock_digest(out), source)

    def add_declared_source(self, stage: Stage) -> None:
        """A ``.dvc`` file: its outputs are sources, with the digests the file claims."""
        what = "dvc import out" if stage.is_import else "dvc add out"
        file = self.rel(stage.path)
        source = SourceRef(file, None, what)
        for out in _local(stage.outs):
            path = self.repo_path(out.def_path, stage.wdir, source, f"file `{file}` out")
            if path is None:
                continue
            self.graph.add_artifact(path)
            for algorithm, value in lock_digest(out).items():
                self.graph.add_claim(path, DigestClaim(algorithm, value, source))

    def rel(self, path: str) -> str:
        return _relative(self.root_dir, path)

    def line(self, path: str, stage_key: str) -> int | None:
        if path not in self._lines:
            self._lines[path] = stage_lines(path)
        return self._lines[path].get(stage_key)

    def repo_path(self, raw: str, wdir: str, declared: SourceRef, role: str) -> str | None:
        """``raw`` (relative to ``wdir``) as a repository path, or None and a path-escape issue."""
        base = self.rel(wdir)
        try:
            return normalise(self.root, raw, "" if base == "." else base)
        except PathEscape as exc:
            message = f"DVC {role}: {exc}"
            evidence = (Evidence("declared in", str(declared)),)
            self.graph.issues.append(Issue("path-escape", raw, message, evidence))
            return None


def _relative(root_dir: str, path: str) -> str:
    return PurePath(os.path.relpath(path, root_dir)).as_posix()


def _cmd(cmd: str | list[str] | None) -> tuple[str, ...]:
    if not cmd:
        return ()
    return (cmd,) if isinstance(cmd, str) else tuple(str(part) for part in cmd)


def _local(items: list[Output]) -> Iterator[Output]:
    return (item for item in items if item.protocol == "local")


def _path_deps(stage: Stage) -> Iterator[Output]:
    from dvc.dependency import (
        DatasetDependency,
        DbDependency,
        ParamsDependency,
        RepoDependency,
    )

    special = (ParamsDependency, RepoDependency, DatasetDependency, DbDependency)
    return (dep for dep in _local(stage.deps) if not isinstance(dep, special))


def lock_digest(item: Output) -> dict[str, str]:
    """The digest DVC read for ``item`` from the lock (or ``.dvc`` file); empty when none."""
    info = item.hash_info
    if info and info.name and isinstance(info.value, str):
        return {info.name: info.value}
    return {}


def stage_params(stage: Stage) -> dict[str, Any]:
    """The params values the lock recorded for ``stage``, flattened to dotted keys."""
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


def stage_lines(path: str) -> dict[str, int]:
    """1-based line of each key of the top-level ``stages`` mapping of a DVC YAML file.

    Composes the YAML (safe, nothing constructed); any problem gives an empty map.
    """
    try:
        with open(path, "rb") as stream:
            document = yaml.compose(stream, Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError):
        return {}
    stages = _mapping_value(document, "stages")
    if stages is None:
        return {}
    return {
        key.value: key.start_mark.line + 1
        for key, _ in stages.value
        if isinstance(key, yaml.ScalarNode)
    }


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.MappingNode | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for name, value in node.value:
        if isinstance(name, yaml.ScalarNode) and name.value == key:
            return value if isinstance(value, yaml.MappingNode) else None
    return None


def _input_error(exc: BaseException, root_dir: str, fallback: str | None) -> InputError:
    """An :class:`InputError` located at the DVC file ``exc`` names (or ``fallback``)."""
    raw = getattr(exc, "path", None) or getattr(exc, "filename", None)
    raw = raw if isinstance(raw, str) and raw else fallback
    if not raw:
        return InputError(f"cannot load the DVC pipelines: {_describe(exc)}")
    absolute = os.path.abspath(raw)
    file = _relative(root_dir, absolute)
    line = _yaml_line(exc)
    message = _describe(exc)
    shown = os.path.relpath(absolute)  # DVC names files relative to the working directory
    for alias in dict.fromkeys((raw, shown, f"./{shown}", absolute)):
        message = message.replace(f"'{alias}'", f"'{file}'")
    return InputError(f"invalid DVC file: {message}", f"{file}:{line}" if line else file)


def _yaml_line(exc: BaseException) -> int | None:
    """The 1-based line of a YAML parser error behind ``exc``, if any."""
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            return None
        mark = getattr(cause, "problem_mark", None) or getattr(cause, "context_mark", None)
        if isinstance(getattr(mark, "line", None), int):
            return mark.line + 1
        cause = cause.__cause__ or cause.__context__
    return None


def _describe(exc: BaseException) -> str:
    """DVC's message, and the detail of its direct cause (YAML or schema problem)."""
    message = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is None:
        return message
    if getattr(cause, "problem", None):
        parts = (getattr(cause, "context", None), cause.problem)
        detail = ", ".join(str(part) for part in parts if part)
    elif isinstance(getattr(cause, "errors", None), list):
        detail = "; ".join(str(error) for error in cause.errors)
    else:
        detail = str(cause)
    return f"{message}: {detail}" if detail and detail not in message else message
