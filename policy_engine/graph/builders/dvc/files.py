"""Loading every DVC file of one project, as DVC's own index collects and loads them.

The walk is DVC's ``collect_files``: ``.dvcignore`` applied, git-ignored files
and folders skipped, folders that are outputs of a file already loaded not
entered, nested DVC projects left to themselves. Each file is loaded by DVC's
file classes (``load_file``; ``vars``, ``foreach``, ``matrix`` and params
interpolation resolved by DVC's resolver), keeping what the index keeps of it:
its stages (as :class:`.records.StageRecord` s, see :mod:`.fastload`), its
lock data and its top-level ``artifacts``, ``metrics`` and ``plots``. Before
DVC expands a pipeline, its stages are counted (:mod:`.bounds`).

DVC reads the files a ``dvc.yaml`` names in ``vars`` (and the ``params.yaml``
beside it) while it resolves the pipeline, wherever they are, and their values
end up in the stages' commands. So before DVC resolves a pipeline, its ``vars``
files must be inside the repository (no ``..``, absolute path or symlink out)
and read as any input is (:func:`.params.read_params_text`: a regular file,
bounded, YAML aliases budgeted): otherwise loading stops with an
:class:`InputError`, and DVC reads nothing (a FIFO or an alias bomb never
reaches its parser).

A ``dvc.lock`` of the DVC 1 format (stage entries at the top level, no
``schema``) is no longer read by DVC 3. It is read here as DVC 2 migrated it:
the same entries under ``stages`` of a ``schema: '2.0'`` lock, validated by
DVC's lock schema; its digests have no ``hash`` field, so DVC reads them as
``md5-dos2unix``, as it does those of a DVC 2 lock.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc import dvcfiles
from policy_engine.graph.builders.dvc.bounds import (
    LimitError,
    check_expansion,
    check_project_stages,
)
from policy_engine.graph.builders.dvc.errors import input_error, relative
from policy_engine.graph.builders.dvc.fastload import dvc_file_test, stage_records
from policy_engine.graph.builders.dvc.lines import LineIndex
from policy_engine.graph.builders.dvc.params import read_params_text
from policy_engine.graph.builders.dvc.records import StageRecord, from_stage, out_paths
from policy_engine.graph.builders.dvc.walk import Listings, project_walk
from policy_engine.graph.paths import PathEscape, normalise

if TYPE_CHECKING:
    from dvc.dvcfile import ProjectFile
    from dvc.repo import Repo


@dataclass(frozen=True)
class DvcFile:
    """One DVC file as DVC loaded it: ``dvc.yaml`` (a pipeline) or a ``.dvc`` file."""

    path: str  # absolute, as DVC names it
    stages: tuple[StageRecord, ...]
    pipeline: bool  # a dvc.yaml, with a lock
    lock: Mapping[str, Any] = field(default_factory=dict)  # the lock's ``stages``
    artifacts: Mapping[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    plots: tuple[Any, ...] = ()
    outs: frozenset[str] = field(default=frozenset(), compare=False, repr=False)  # out_paths

    @property
    def lock_path(self) -> str:
        return os.path.splitext(self.path)[0] + ".lock"


def load_files(
    repo: Repo,
    root: Path,
    lines: LineIndex | None = None,
    leaves: list[str] | None = None,
    listings: Listings | None = None,
) -> list[DvcFile]:
    """Every DVC file of the project at ``repo`` (in the repository at ``root``), by path.

    A file DVC cannot load, or that would make it read outside ``root``, raises
    :class:`InputError` naming it. The lines of the keys of the files parsed go to
    ``lines``; the folders the walk listed with no subfolder go to ``leaves``
    (see :func:`_walk`), its folders' listings to ``listings`` (see :mod:`.walk`).
    """
    files: list[DvcFile] = []
    outs: set[str] = set()
    stages = 0
    for path in _walk(repo, outs, leaves, listings):
        try:
            file = load_file(repo, path, root, lines)
            stages += len(file.stages)
            check_project_stages(stages, path)
        except InputError:
            raise
        except LimitError as exc:
            raise limit_error(exc, root, lines) from exc
        except Exception as exc:  # DVC's parse, schema, interpolation or plugin errors
            raise input_error(exc, repo.root_dir, path) from exc
        files.append(file)
        outs.update(file.outs)
    return sorted(files, key=lambda file: file.path)


def limit_error(exc: LimitError, root: Path, lines: LineIndex | None) -> InputError:
    """A bound hit, located at the file (and the stage's line) from the repository root."""
    file = relative(os.path.abspath(root), exc.path)
    line = lines.line(exc.path, "stages", exc.key) if lines and exc.key else None
    return InputError(str(exc), f"{file}:{line}" if line else file)


def _walk(
    repo: Repo,
    outs: set[str],
    leaves: list[str] | None = None,
    listings: Listings | None = None,
) -> Iterator[str]:
    """DVC's ``collect_files`` walk: DVC files not ignored, outside the outputs in ``outs``.

    ``outs`` is read as the walk goes: a file's outputs added to it before the
    walk resumes are not entered. Each folder is filtered by DVC's own
    ``.dvcignore`` filter, as ``DvcIgnoreFilter.walk`` does, given only the
    file names that are DVC files: it judges each name alone, so the DVC files
    it keeps are those it keeps of the whole listing, and the others (a
    folder of 20,000 links) are not matched against its patterns. A folder with
    neither DVC files nor subfolders is not filtered at all: nothing is left to
    judge, and what the filter learns of a folder (its ``.dvcignore``, nested
    projects) only serves that folder and those below it.

    Each folder listed with no subfolder at all (not even a hidden one, or a
    symlink to one) is put in ``leaves`` (absolute, as the walk names it), and
    each folder's listing in ``listings`` (:func:`.walk.project_walk`).
    """
    is_dvc_file = dvc_file_test()
    fs, scm, sep, ignore = repo.fs, repo.scm, repo.fs.sep, repo.dvcignore
    walked = project_walk(fs, repo.root_dir, {} if listings is None else listings)
    for root, dirs, files in walked:
        names = [name for name in files if is_dvc_file(name)]
        if not dirs:
            if leaves is not None:
                leaves.append(root)
            if not names:
                continue
        dirs[:], names = ignore(root, dirs, names)
        for name in names:
            if not scm.is_ignored(f"{root}{sep}{name}"):
                yield fs.join(root, name)
        dirs[:] = [
            name
            for name in dirs
            if f"{root}{sep}{name}" not in outs and not scm.is_ignored(f"{root}{sep}{name}{sep}")
        ]


def load_file(repo: Repo, path: str, root: Path, lines: LineIndex | None = None) -> DvcFile:
    """Load one DVC file through DVC's file classes (:mod:`.dvcfiles`)."""
    from dvc.dvcfile import ProjectFile

    dvcfile = dvcfiles.load_file(repo, path, lines)
    if not isinstance(dvcfile, ProjectFile):
        stages = tuple(from_stage(stage, keep=True) for stage in dvcfile.stages.values())
        return DvcFile(path, stages, pipeline=False, outs=frozenset(out_paths(stages)))
    confine_vars(dvcfile.contents, root, relative(os.path.abspath(root), path))
    lock = lock_contents(dvcfile).get("stages") or {}  # before the stages, which read it
    check_expansion(dvcfile.resolver, path)
    stages, outs = stage_records(dvcfile, dvcfile.resolver.get_keys(), lock)
    return DvcFile(
        path,
        stages,
        pipeline=True,
        lock=lock,
        artifacts=dvcfile.artifacts or {},
        metrics=tuple(dvcfile.metrics or ()),
        plots=tuple(dvcfile.plots or ()),
        outs=frozenset(outs),
    )


def confine_vars(contents: Mapping[str, Any], root: Path, dvcfile: str) -> None:
    """Refuse the pipeline ``dvcfile`` (``contents``) if a vars file it reads leaves ``root``,
    or is refused as input (:func:`.params.read_params_text`).

    Checked as DVC will read them: the ``params.yaml`` beside it, top-level
    ``vars``, and each stage's (``do`` of a ``foreach``) relative to its ``wdir``.
    """
    base = posixpath.dirname(dvcfile)
    wanted = [("params.yaml", base), *((item, base) for item in contents.get("vars") or ())]
    for name, definition in (contents.get("stages") or {}).items():
        for entry in (definition, definition.get("do") or {}):
            wdir = str(entry.get("wdir") or ".")
            items = [item for item in entry.get("vars") or () if isinstance(item, str)]
            if items and "${" in wdir:
                message = f"stage `{name}` reads vars files from an interpolated `wdir`"
                raise InputError(message, dvcfile)
            wanted.extend((item, posixpath.join(base, wdir)) for item in items)
    for item, folder_of in wanted:
        if isinstance(item, str):
            try:
                path = normalise(root, item.partition(":")[0], folder_of)
            except PathEscape as exc:
                message = f"DVC would read a vars file outside the repository: {exc}"
                raise InputError(message, dvcfile) from exc
            if os.path.exists(root / path):  # else DVC skips it, or names it missing
                read_params_text(str(root / path), path, str(root))


def lock_contents(dvcfile: ProjectFile) -> Mapping[str, Any]:
    """DVC's data of the lock of ``dvcfile``; a DVC 1 lock is read as DVC 2 migrated it."""
    from dvc.utils.strictyaml import YAMLValidationError

    try:
        contents: Mapping[str, Any] = dvcfile.lockfile_contents
        return contents
    except YAMLValidationError:
        upgraded = _upgraded_v1_lock(dvcfile)
        if upgraded is None:
            raise
        # DVC caches the lock data on the file object; its stage loader reads it there.
        dvcfile.__dict__["lockfile_contents"] = upgraded
        return upgraded


def _upgraded_v1_lock(dvcfile: ProjectFile) -> dict[str, Any] | None:
    """The DVC 1 lock of ``dvcfile`` as a ``schema: '2.0'`` lock, or None if it is not one."""
    from dvc.dvcfile import Lockfile
    from dvc.utils.strictyaml import load

    path = os.path.splitext(dvcfile.path)[0] + ".lock"
    data, _ = load(path, fs=dvcfile.repo.fs)
    if not _is_v1_lock(data):
        return None
    upgraded = {"schema": "2.0", "stages": dict(data)}
    Lockfile.validate(upgraded, fname=os.path.relpath(path))
    return upgraded


def _is_v1_lock(data: Any) -> bool:
    """DVC 1 locks map stage names to entries, each with a ``cmd``; no ``schema`` key."""
    return (
        isinstance(data, Mapping)
        and bool(data)
        and "schema" not in data
        and all(isinstance(entry, Mapping) and "cmd" in entry for entry in data.values())
    )
