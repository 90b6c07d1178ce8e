"""Adding one DVC project to the graph: its pipeline stages, and its ``.dvc`` files' sources."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.caches import CachedObject, DvcCaches, project_caches
from policy_engine.graph.builders.dvc.context import Reading, address
from policy_engine.graph.builders.dvc.declarations import declare_out, declare_sections
from policy_engine.graph.builders.dvc.facts import (
    command,
    local,
    origin_of,
    path_deps,
    stage_params,
)
from policy_engine.graph.builders.dvc.files import DvcFile, load_files
from policy_engine.graph.builders.dvc.ledger import SOURCE, STAGE, OutputClaim
from policy_engine.graph.builders.dvc.locks import check_lock
from policy_engine.graph.builders.dvc.manifests import Entries, Manifests
from policy_engine.graph.builders.dvc.params import ParamsFiles
from policy_engine.graph.builders.dvc.records import Item, StageRecord
from policy_engine.graph.builders.dvc.repo import open_read_only
from policy_engine.graph.builders.dvc.walk import Listings
from policy_engine.graph.flows import FlowInsertion, Flows
from policy_engine.graph.model import DigestClaim, Evidence, Issue, SourceRef, Step

if TYPE_CHECKING:
    from dvc.stage import Stage


def read_project(reading: Reading, root: Path) -> tuple[list[str], list[str]]:
    """Add the DVC project at ``root``; return its outputs' repository paths, and the
    folders DVC's walk of it listed with no subfolder (repository paths)."""
    leaves: list[str] = []
    listings: Listings = {}
    with open_read_only(root) as repo:
        caches = project_caches(repo, reading.root, root, reading.cache_repo)
        reading.graph.issues.extend(caches.refused)
        reader = ProjectReader(reading, caches, ParamsFiles(reading, repo))
        files = load_files(repo, reading.root, reading.lines, leaves, listings)
        reading.listed(listings)  # what DVC's walk listed is not listed again
        for file in files:
            reader.add(file)
    inside = os.path.join(reading.root_dir, "")
    folders = [leaf[len(inside) :] for leaf in leaves if leaf.startswith(inside)]
    return reader.outputs, folders if os.sep == "/" else []


def _meta(stage: Stage, definition: SourceRef) -> dict[str, Any]:
    """The stage's ``meta``: DVC takes any value, the engine reads a mapping."""
    meta = stage.meta or {}
    if not isinstance(meta, Mapping):
        kind = type(meta).__name__
        message = f"stage `{stage.name}`: `meta` must be a mapping, not a {kind}"
        line = definition.line
        raise InputError(message, f"{definition.file}:{line}" if line else definition.file)
    return dict(meta)


class ProjectReader:
    """Adds the DVC files of one project, as DVC loaded them, to the graph."""

    def __init__(self, reading: Reading, caches: DvcCaches, params: ParamsFiles) -> None:
        self.reading = reading
        self.graph = reading.graph
        self.caches = caches
        self.manifests = Manifests(caches, reading.graph)
        self.params = params
        self.outputs: list[str] = []

    def add(self, file: DvcFile) -> None:
        if not file.pipeline:
            for stage in file.stages:
                self.add_source(stage, file)
            return
        stages = FlowInsertion(self.graph)  # the file's steps and edges, added at once
        for stage in file.stages:
            self.add_stage(stage, file, stages)
        stages.apply()
        check_lock(self.reading, file)
        declare_sections(self.reading, file)

    def add_stage(self, stage: StageRecord, file: DvcFile, into: Flows) -> None:
        """A step, with an edge per path dependency and output carrying the lock's digest."""
        lines, dvcfile = self.reading.lines, self.reading.rel(file.path)
        name = address(dvcfile, stage.name)
        group = stage.name.split("@")[0]  # a foreach/matrix stage is defined at its group
        definition = SourceRef.of(dvcfile, lines.line(file.path, "stages", group), "dvc.yaml stage")
        into.add_step(
            Step(
                name=name,
                source=definition,
                cmd=command(stage.cmd),
                meta=_meta(stage, definition),
                desc=stage.desc,
                params=stage_params(stage),
                frozen=bool(stage.frozen),
            )
        )
        lock = self.reading.rel(file.lock_path)
        lock_line = lines.line(file.lock_path, "stages", stage.name)
        if stage.name in file.lock:
            self.params.check(stage, name, SourceRef(lock, lock_line))
        source = SourceRef.of(lock, lock_line, f"stage `{stage.name}` dep")  # one per stage
        deps = list(path_deps(stage))
        role = f"stage `{name}` dep"
        paths = self.reading.repo_paths([dep.path for dep in deps], stage.wdir, definition, role)
        for dep, path in zip(deps, paths, strict=True):
            if path is not None:
                into.add_input(path, name, dict(dep.digest), source)
        source = SourceRef.of(lock, lock_line, f"stage `{stage.name}` out")
        self.add_outputs(stage, name, definition, source, into)

    def add_outputs(
        self, stage: StageRecord, name: str, definition: SourceRef, source: SourceRef, into: Flows
    ) -> None:
        """Step ``name``'s OUTPUT edges, claims and declarations (``source``: the lock's).

        One pass per output: its repository path, its edge, its claim (with the files
        of a directory output), its declaration if it is one.
        """
        outs = list(local(stage.outs))
        role = f"stage `{name}` out"
        paths = self.reading.repo_paths([out.path for out in outs], stage.wdir, definition, role)
        add_output, add, caches = into.add_output, self.reading.ledger.add, self.caches
        cached, outputs = self.reading.cached.add, self.outputs
        for out, path in zip(outs, paths, strict=True):
            if path is None:
                continue
            digest = out.digest  # the record's own: the edge copies it, claims only read it
            add_output(name, path, digest, source)
            claim = OutputClaim(path, name, STAGE, digest, source)
            if out.isdir:
                self.claim(out, path, claim, into)
            else:  # what claim does when there is no manifest to read
                add(claim)
                outputs.append(path)
                cached(caches, path, digest, source)
            if out.metric or out.plot or out.annotations:
                declare_out(into, out, path, definition)

    def add_source(self, record: StageRecord, file: DvcFile) -> None:
        """A ``.dvc`` file: its outputs are sources, with the digests and origin it records."""
        stage: Stage = record.stage
        rel = self.reading.rel(file.path)
        source = SourceRef(rel, None, "dvc import out" if stage.is_import else "dvc add out")
        origin = origin_of(stage, source)
        for out in local(record.outs):
            path = self.reading.repo_path(out.path, record.wdir, source, f"file `{rel}` out")
            if path is None:
                continue
            digest = dict(out.digest)
            self.graph.add_artifact(path)
            for algorithm, value in digest.items():
                self.graph.add_claim(path, DigestClaim(algorithm, value, source))
            self.graph.set_origin(path, origin)
            self.claim(out, path, OutputClaim(path, rel, SOURCE, digest, source), self.graph)
            declare_out(self.graph, out, path, source)
        self.check_checksum(stage, rel)

    def claim(self, out: Item, path: str, claim: OutputClaim, into: Flows) -> None:
        """Record the claim, and the files of a directory output when its manifest is at hand.

        A stage's files get OUTPUT edges from it with the manifest's digests; a
        source's files get the manifest's digests as claims.
        """
        self.reading.ledger.add(claim)
        self.outputs.append(path)
        found = self.manifests.files(out, path, claim.source)
        files = None if found is None else self.add_files(claim, *found, into)
        self.reading.cached.add(self.caches, path, claim.digest, claim.source, files)

    def add_files(
        self, claim: OutputClaim, algorithm: str, entries: Entries, into: Flows
    ) -> tuple[CachedObject, ...]:
        """The files of a directory output, from its manifest; where DVC keeps each one."""
        what = f"{claim.source.what} `{claim.path}` manifest"
        source = SourceRef(claim.source.file, claim.source.line, what)
        files: list[CachedObject] = []
        for file_path, value in entries:
            if claim.kind == STAGE:
                into.add_output(claim.claimer, file_path, {algorithm: value}, source)
            else:
                self.graph.add_claim(file_path, DigestClaim(algorithm, value, source))
            cached = self.caches.cached(file_path, {algorithm: value}, source)
            self.reading.cached.add(self.caches, file_path, {algorithm: value}, source)
            files += [cached] if cached is not None else []
        return tuple(files)

    def check_checksum(self, stage: Stage, rel: str) -> None:
        """An import's ``.dvc`` file must match the checksum DVC recorded of its content.

        (``dvc add`` files carry no checksum DVC still computes.)
        """
        if not (stage.md5 and stage.is_import) or stage.md5 == stage.compute_md5():
            return
        message = (
            f"`{rel}` does not match its own checksum: it was edited after DVC wrote it, "
            "so DVC did not record what it says"
        )
        evidence = (Evidence("recorded md5", stage.md5, rel),)
        self.graph.issues.append(Issue("dvc-file-edited", rel, message, evidence))
