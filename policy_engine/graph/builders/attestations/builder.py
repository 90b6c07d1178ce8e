"""The attestation builders: what was read becomes facts on the provenance graph.

Two builders, around the workspace builder:

* :func:`build_attestations` reads every file (see :mod:`.dispatch`), adds the
  links, settles and adds the layouts, and matches statement resources by name
  (adding those artifacts so that the workspace builder hashes them);
* :func:`add_statements`, once the workspace is hashed, matches the remaining
  resources by digest and adds the statements, with SLSA provenance as lineage.

SLSA provenance (v0.2, v1) signed by a trusted key (a signature that verifies)
whose subjects match artifacts becomes a synthetic step ``slsa:<file>``
(``Step.meta``: ``source: slsa``, ``builder_id``, ``build_type``,
``predicate_type``, ``invocation_id``) with an OUTPUT edge to
each subject and an INPUT edge from each material / resolved dependency that
matches an artifact (and is not also a subject), each carrying its digests;
the statement attests that step (``step_name``). Provenance no trusted key
verifies adds no lineage (a note says so): anyone could write it, and a step
it added could bridge a broken chain. Other predicates are kept as evidence only.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from policy_engine import forked
from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations.confine import Normaliser
from policy_engine.graph.builders.attestations.dispatch import (
    FileResult,
    Found,
    LoadedStatement,
    find_files,
    load_file,
)
from policy_engine.graph.builders.attestations.layoutrules import layout_problems
from policy_engine.graph.builders.attestations.layouts import LoadedLayout
from policy_engine.graph.builders.attestations.links import LoadedLink
from policy_engine.graph.builders.attestations.pool import Reading, Sent
from policy_engine.graph.builders.attestations.resources import Resource
from policy_engine.graph.builders.attestations.searched import Search
from policy_engine.graph.builders.attestations.subjects import Resolver
from policy_engine.graph.builders.attestations.thresholds import expiry_issues, settle
from policy_engine.graph.builders.attestations.trust import trusted_files, untrusted_issue
from policy_engine.graph.collector import paused_gc
from policy_engine.graph.model import (
    Attestation,
    Evidence,
    Issue,
    Layout,
    LayoutStep,
    ProvenanceGraph,
    SignatureStatus,
    SourceRef,
    Step,
)

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext

_DEFERRED = "attestations.statements"
_LINKS_PER_INSERT = 512  # files whose links are added to the graph at once, as they are read


@dataclass(frozen=True)
class Pending:
    """A statement read, with the artifact each of its resources names (None: match by digest)."""

    loaded: LoadedStatement
    subjects: tuple[tuple[Resource, str | None], ...]
    dependencies: tuple[tuple[Resource, str | None], ...]


class Started:
    """The attestation files found and their reading begun (see :func:`start_reading`)."""

    def __init__(
        self, context: BuildContext, workers: int | None = None, background: bool = False
    ) -> None:
        self._error: InputError | None = None
        self._found: list[Found] = []
        self.reading: Reading | Search
        if background and forked.can_fork():  # found by the children too: they start now
            self.reading = Search(context.root, context.attestation_paths, context.keyring, workers)
            return
        try:
            self._found = find_files(context.root, context.attestation_paths)
        except InputError as error:
            self._error = error  # raised when the attestation builder runs, as it was
        self.reading = Reading(self._found, context.keyring, context.root, workers, background)

    def check(self) -> None:
        """Raise what finding the files raised, if anything."""
        if isinstance(self.reading, Search):
            self.reading.check()
        elif self._error is not None:
            raise self._error

    def files(self) -> list[Found]:
        """The files found; raises what finding them raised."""
        self.check()
        return self.reading.files() if isinstance(self.reading, Search) else self._found

    def close(self) -> None:
        """Stop the reading (see :meth:`.pool.Reading.close`); nothing is left running."""
        self.reading.close()


def start_reading(
    context: BuildContext, workers: int | None = None, background: bool = False
) -> Started:
    """Find the attestation files and start reading them: other processes, when used, read
    them while the builders before the attestation builder run (``graph.build.building``).

    ``background``: the other builders run meanwhile, so the readers leave them a CPU (and
    are forked children that need nothing of this process; see :mod:`.pool`); when they
    can be forked, they are forked at once and find the files themselves (see
    :mod:`.searched`).
    No builder writes into the repository (nor changes the attestation folders), so the
    files found before the pipelines load are the files the attestation builder would find.
    """
    return Started(context, workers, background)


def build_attestations(
    graph: ProvenanceGraph, context: BuildContext, workers: int | None = None
) -> None:
    """Read every attestation under ``context.attestation_paths`` (first builder; see above).

    The reading was started by the build (``context.started``), else starts here.
    Links are added to the graph in bulk as their files are read (while the pool
    reads the next ones); layouts and statements once every link is in.
    """
    if context.started is None:
        with closing(start_reading(context, workers)) as started:
            _build(graph, context, started)
    else:
        _build(graph, context, context.started)


def _build(graph: ProvenanceGraph, context: BuildContext, started: Started) -> None:
    started.check()
    with paused_gc():  # what is read stays in the graph: no garbage worth a collection
        sent = _read_links(graph, started.reading)
    results = [result for result in sent if isinstance(result, FileResult)]  # the others: a link
    for result in results:
        graph.issues.extend(result.issues)
        graph.notes.extend(result.notes)
    layouts = [layout for r in results for layout in r.layouts]
    if layouts:
        _settle_layouts(graph, context, layouts, _with_proofs(started.files(), sent, context))
    resolver = Resolver(graph, context.root)
    pending = [_by_name(graph, resolver, s) for r in results for s in r.statements]
    context.deferred.setdefault(_DEFERRED, []).extend(pending)


def _read_links(graph: ProvenanceGraph, reading: Reading | Search) -> list[Sent]:
    """Every file's result as sent, in order, its links added in bulk as the files are read."""
    results: list[Sent] = []
    with closing(reading.sent()) as stream:
        for result in stream:
            if isinstance(result, FileResult) and result.error is not None:
                raise InputError(*result.error)
            results.append(result)
            if len(results) % _LINKS_PER_INSERT == 0:
                _add_links(graph, results[-_LINKS_PER_INSERT:])
    _add_links(graph, results[len(results) - len(results) % _LINKS_PER_INSERT :])
    return results


def _add_links(graph: ProvenanceGraph, results: list[Sent]) -> None:
    """The links of ``results``, in order, in one bulk insertion."""
    links = _links(results)
    graph.add_attestations((att, SourceRef.of(att.file, None, "in-toto link")) for att in links)


def _links(results: list[Sent]) -> Iterator[Attestation]:
    """The attestations of the links of ``results``, in order."""
    for result in results:
        if isinstance(result, Attestation):
            yield result
        else:
            yield from (link.attestation for link in result.links)


def _settle_layouts(
    graph: ProvenanceGraph,
    context: BuildContext,
    layouts: list[LoadedLayout],
    results: list[FileResult],
) -> None:
    """Thresholds, then trust (see :mod:`.trust`); trusted layouts' steps join the pipeline,
    and the supply chain checker judges their rules (see :mod:`.layoutrules`)."""
    links = [link for r in results for link in r.links]
    now = context.now or datetime.now(timezone.utc)
    settled = [settle(loaded, links, layouts) for loaded in layouts]
    trusted = trusted_files((layout for layout, _ in settled), context.layout_owners)
    for layout, step_issues in settled:
        layout = replace(layout, trusted=layout.file in trusted)
        graph.layouts.append(layout)
        if layout.trusted:
            graph.issues.extend(step_issues)
        else:
            graph.issues.append(untrusted_issue(layout, context.layout_owners))
        graph.issues.extend(expiry_issues(layout, now))
    _add_layout_steps(graph, [x for x in graph.layouts if x.trusted], links)
    graph.layout_problems += layout_problems(graph.layouts, (x.attestation for x in links))


def _add_layout_steps(
    graph: ProvenanceGraph, layouts: list[Layout], links: list[LoadedLink]
) -> None:
    """Each step of a trusted layout is a pipeline step, unless the pipeline has it already."""
    known = {s.name for s in graph.steps()}
    recorders: dict[str, list[str]] = {}
    for link in links:
        recorders.setdefault(link.attestation.step_name, []).append(link.attestation.file)
    for layout in layouts:
        for step in layout.steps:
            if step.name in known:
                continue
            known.add(step.name)
            graph.add_step(_layout_step(layout, step))
            for file in recorders.get(step.name, ()):
                graph.add_attests(file, step.name)


def _layout_step(layout: Layout, step: LayoutStep) -> Step:
    command = (shlex.join(step.expected_command),) if step.expected_command else ()
    meta = {"source": "in-toto layout", "layout": layout.file}
    return Step(step.name, SourceRef(layout.file, None, "in-toto layout step"), command, meta)


def _with_proofs(
    found: list[Found], results: list[Sent], context: BuildContext
) -> list[FileResult]:
    """The results, with files whose links lost their signed bytes read again (for layouts)."""
    if [each.file for each in found] != [result.file for result in results]:
        # found again (see :mod:`.searched`): the folders changed meanwhile
        raise InputError("the attestation files changed while they were read", None)
    normaliser = Normaliser(context.root)
    return [
        result
        if isinstance(result, FileResult) and all(link.proof is not None for link in result.links)
        else load_file(each, context.keyring, normaliser)
        for each, result in zip(found, results, strict=True)
    ]


def _by_name(graph: ProvenanceGraph, resolver: Resolver, loaded: LoadedStatement) -> Pending:
    def match(
        resources: tuple[Resource, ...], role: str
    ) -> tuple[tuple[Resource, str | None], ...]:
        matched = []
        for resource in resources:
            path = resolver.by_name(resource, (loaded.file, role), graph.issues)
            if path is not None:
                graph.add_artifact(path)
            matched.append((resource, path))
        return tuple(matched)

    statement = loaded.statement
    dependencies = statement.build.dependencies if statement.build else ()
    return Pending(loaded, match(statement.subjects, "subject"), match(dependencies, "material"))


def add_statements(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Add the statements read by :func:`build_attestations` (after the workspace builder)."""
    resolver = Resolver(graph, context.root)
    for pending in context.deferred.pop(_DEFERRED, []):
        _add_statement(graph, resolver, pending)


def _add_statement(graph: ProvenanceGraph, resolver: Resolver, pending: Pending) -> None:
    loaded, statement = pending.loaded, pending.loaded.statement
    subjects = _resolve(graph, resolver, loaded, pending.subjects, "subject")
    inputs = _resolve(graph, resolver, loaded, pending.dependencies, "material")
    step_name = ""
    verified = any(s.status is SignatureStatus.VALID for s in loaded.signatures)
    if statement.build is not None and subjects and not verified:
        graph.notes.append(
            f"{loaded.file}: SLSA provenance no trusted key verifies; no lineage was added"
        )
    elif statement.build is not None and subjects:
        step_name = f"slsa:{loaded.file}"
        graph.add_step(
            Step(
                step_name,
                _ref(loaded, "SLSA provenance"),
                meta=statement.build.meta(),
                recorded=True,
            )
        )
        for path, digest in sorted(inputs.items()):
            if path not in subjects:
                graph.add_input(path, step_name, digest, _ref(loaded, "SLSA material"))
        for path, digest in sorted(subjects.items()):
            graph.add_output(step_name, path, digest, _ref(loaded, "SLSA subject"))
    elif statement.build is not None:
        graph.notes.append(f"{loaded.file}: no subject is an artifact here; no lineage was added")
    attestation = Attestation(
        file=loaded.file,
        kind="statement",
        envelope=loaded.envelope,
        step_name=step_name,
        signatures=loaded.signatures,
        predicate_type=statement.predicate_type,
        predicate=statement.predicate,
        subjects=subjects,
        issued_at=statement.issued_at,
    )
    graph.add_attestation(attestation, _ref(loaded, "in-toto statement"))


def _ref(loaded: LoadedStatement, what: str) -> SourceRef:
    """Where a statement was read: its file (without ``#N``) and line."""
    source = loaded.file[: -len(f"#{loaded.line}")] if loaded.line else loaded.file
    return SourceRef(source, loaded.line, what)


def _resolve(
    graph: ProvenanceGraph,
    resolver: Resolver,
    loaded: LoadedStatement,
    matched: tuple[tuple[Resource, str | None], ...],
    role: str,
) -> dict[str, dict[str, str]]:
    """Repository path -> digests for the resources; the unmatched are noted."""
    found: dict[str, dict[str, str]] = {}
    for resource, path in matched:
        paths = [path] if path is not None else resolver.by_digest(resource.digest)
        if not paths:
            graph.notes.append(
                f"{loaded.file}: {role} `{resource.label}` matches no artifact (by name or digest)"
            )
        for each in paths:
            digest = resolver.completed(each, resource.digest)
            if each in found and found[each] != digest:
                evidence = (Evidence("file", loaded.file), Evidence(role, resource.label))
                message = f"statement names {role} `{each}` twice with different digests"
                graph.issues.append(Issue("conflicting-digest", each, message, evidence))
                continue
            found[each] = digest
    return found
