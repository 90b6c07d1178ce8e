"""The artifacts evidence is about: repository paths, confined, and the digests of their bytes.

Paths are repository-relative and confined as the graph builders confine them
(:func:`policy_engine.graph.paths.normalise`): absolute paths, ``..`` leaving
the repository and symlinks resolving outside it are refused, as is a symlink
inside a directory that leaves the repository.

Two ways to digest, one per kind of evidence:

* :func:`subject_digests` (Statement subjects): the workspace hasher's sha256,
  so a subject names exactly the digest ``mlpolicy check`` compares. A
  directory is one subject whose sha256 is that of its manifest (see
  :mod:`policy_engine.graph.builders.workspace`);
* :func:`recorded_digests` (link materials and products): in-toto's own
  ``record_artifacts_as_dict`` with the repository as base path, over the
  files the directories hold (enumerated here, confined, as DVC walks them),
  as ``in-toto-run`` records them: one entry per file, sha256; with
  :func:`with_md5`, also DVC's ``md5`` of each file (in-toto links carry
  several algorithms per artifact), so that a signed link can be compared with
  the digest DVC's lock records when the bytes are not at hand.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvcdir import DvcIgnores
from policy_engine.graph.builders.workspace import (
    DirectoryPlan,
    Plan,
    directory_digest,
    hash_file,
    hash_files,
    plan_artifact,
)
from policy_engine.graph.model import ProvenanceGraph, WorkspaceFile
from policy_engine.graph.paths import PathEscape, normalise


def confine(root: Path, raw: str) -> str:
    """``raw`` as a repository-relative posix path; an :class:`InputError` when it leaves."""
    try:
        path = normalise(root, raw)
    except PathEscape as exc:
        raise InputError(f"{exc}: evidence is only about files inside the repository") from None
    if path == ".":
        raise InputError(f"`{raw}` is the repository itself, not an artifact in it")
    return path


def outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """The paths not inside another of them (a directory output stands for its files), sorted."""
    unique = sorted(set(paths))
    kept: list[str] = []
    for path in unique:
        if not any(path.startswith(f"{parent}/") for parent in kept):
            kept.append(path)
    return tuple(kept)


def plans(root: Path, paths: Iterable[str], missing: str) -> dict[str, Plan]:
    """Each path's file or directory listing; a missing one is an error saying ``missing``."""
    real_root = os.path.realpath(root)
    scratch = ProvenanceGraph(str(root))
    ignores = DvcIgnores(real_root)
    found: dict[str, Plan] = {}
    for path in paths:
        plan = plan_artifact(scratch, real_root, path, ignores)
        if scratch.issues:
            raise InputError(scratch.issues[0].message, path)
        if plan is None:
            raise InputError(missing, path)
        found[path] = plan
    return found


def subject_digests(root: Path, paths: Iterable[str], missing: str) -> dict[str, str]:
    """``{path: sha256}`` as the workspace builder digests each file or directory."""
    found = plans(root, paths, missing)
    digests: dict[str, str] = {}
    for path, plan in found.items():
        digests[path] = _workspace_digest(path, plan).sha256
    return digests


def _workspace_digest(path: str, plan: Plan) -> WorkspaceFile:
    try:
        if not isinstance(plan, DirectoryPlan):
            return hash_file(plan)
        hashed = hash_files(real for _, real in plan.entries)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path) from None
    files: list[tuple[str, WorkspaceFile]] = []
    for relpath, real in plan.entries:
        result = hashed[real]
        if isinstance(result, OSError):
            message = f"cannot read the file: {result.strerror or result}"
            raise InputError(message, f"{path}/{relpath}")
        files.append((relpath, result))
    return directory_digest(files)


def files_of(found: dict[str, Plan]) -> list[str]:
    """The repository paths of every file: a file itself, or each file under a directory."""
    files: dict[str, None] = {}
    for path, plan in found.items():
        if isinstance(plan, DirectoryPlan):
            files.update((f"{path}/{relpath}", None) for relpath, _ in plan.entries)
        else:
            files[path] = None
    return sorted(files)


def recorded_digests(root: Path, paths: Iterable[str], missing: str) -> dict[str, dict[str, str]]:
    """``{file: {"sha256": hex}}`` recorded by in-toto's ``record_artifacts_as_dict``."""
    from in_toto.runlib import record_artifacts_as_dict

    files = files_of(plans(root, paths, missing))
    if not files:
        return {}
    with warnings.catch_warnings():  # in-toto builds its exclude patterns with a deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        # A pattern matching no repository path: in-toto's default excludes (`*.link*`, ...)
        # would silently drop files the stage declared.
        recorded = record_artifacts_as_dict(
            files, exclude_patterns=["/\0"], base_path=os.fspath(root)
        )
    absent = [f for f in files if f not in recorded]
    if absent:
        raise InputError("in-toto did not record this file", absent[0])
    return {path: dict(recorded[path]) for path in files}


def with_md5(root: Path, recorded: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """``recorded`` with DVC's ``md5`` of each file beside its sha256 (read once more).

    A file whose sha256 is not the one recorded changed meanwhile: an :class:`InputError`.
    """
    real_root = os.path.realpath(root)
    reals = {path: os.path.join(real_root, path) for path in recorded}
    hashed = hash_files(reals.values())
    result: dict[str, dict[str, str]] = {}
    for path, digests in recorded.items():
        found = hashed[reals[path]]
        if isinstance(found, OSError):
            raise InputError(f"cannot read the file: {found.strerror or found}", path)
        if found.sha256 != digests.get("sha256"):
            raise InputError("the file changed while it was being recorded", path)
        result[path] = {**digests, "md5": found.md5}
    return result
