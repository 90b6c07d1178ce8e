"""The attestation builders: what was read becomes facts on the provenance graph.

Two builders, around the workspace builder:

* :func:`build_attestations` reads every file (see :mod:`.dispatch`), adds the
  links, settles and adds the layouts, and matches statement resources by name
  (adding those artifacts so that the workspace builder hashes them);
* :func:`add_statements`, once the workspace is hashed, matches the remaining
  resources by digest and adds the statements, with SLSA provenance as lineage.

SLSA provenance (v0.2, v1) whose subjects match artifacts becomes a synthetic
step ``slsa:<file>`` (``Step.meta``: ``source: slsa``, ``builder_id``,
``build_type``, ``predicate_type``, ``invocation_id``) with an OUTPUT edge to
each subject and an INPUT edge from each material / resolved dependency that
matches an artifact (and is not also a subject), each carrying its digests;
the statement attests that step (``step_name``). Other predicates are kept as
evidence only.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations.confine import Normaliser
from policy_engine.graph.builders.attestations.dispatch import (
    FileResult,
    Found,
    LoadedStatement,
    find_files,
    load_file,
)
from policy_engine.graph.builders.attestations.layouts import LoadedLayout
from policy_engine.graph.builders.attestations.pool import iter_files
from policy_engine.graph.builders.attestations.resources import Resource
from policy_engine.graph.builders.attestations.subjects import Resolver
from policy_engine.graph.builders.attestations.thresholds import settle
from policy_engine.graph.model import (
    Attestation,
    Evidence,
    Issue,
    ProvenanceGraph,
    SourceRef,
    Step,
)

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext

_DEFERRED = "attestations.statements"


@dataclass(frozen=True)
class Pending:
    """A statement read, with the artifact each of its resources names (None: match by digest)."""

    loaded: LoadedStatement
    subjects: tuple[tuple[Resource, str | None], ...]
    dependencies: tuple[tuple[Resource, str | None], ...]


def build_attestations(
    graph: ProvenanceGraph, context: BuildContext, workers: int | None = None
) -> None:
    """Read every attestation under ``context.attestation_paths`` (first builder; see above).

    Links are added to the graph as their files are read (while the pool reads
    the next ones); layouts and statements once every link is in.
    """
    found = find_files(context.root, context.attestation_paths)
    results: list[FileResult] = []
    with closing(iter_files(found, context.keyring, context.root, workers)) as stream:
        for result in stream:
            if result.error is not None:
                raise InputError(*result.error)
            results.append(result)
            for link in result.links:
                att = link.attestation
                graph.add_attestation(att, SourceRef(att.file, None, "in-toto link"))
    for result in results:
        graph.issues.extend(result.issues)
        graph.notes.extend(result.notes)
    layouts = [layout for r in results for layout in r.layouts]
    if layouts:
        _settle_layouts(graph, context, layouts, _with_proofs(found, results, context))
    resolver = Resolver(graph, context.root)
    pending = [_by_name(graph, resolver, s) for r in results for s in r.statements]
    context.deferred.setdefault(_DEFERRED, []).extend(pending)


def _settle_layouts(
    graph: ProvenanceGraph,
    context: BuildContext,
    layouts: list[LoadedLayout],
    results: list[FileResult],
) -> None:
    links = [link for r in results for link in r.links]
    now = context.now or datetime.now(timezone.utc)
    for loaded in layouts:
        layout, issues = settle(loaded, links, layouts, now)
        graph.layouts.append(layout)
        graph.issues.extend(issues)


def _with_proofs(
    found: list[Found], results: list[FileResult], context: BuildContext
) -> list[FileResult]:
    """The results, with files whose links lost their signed bytes read again (for layouts)."""
    normaliser = Normaliser(context.root)
    return [
        load_file(each, context.keyring, normaliser)
        if any(link.proof is None for link in result.links)
        else result
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
    if statement.build is not None and subjects:
        step_name = f"slsa:{loaded.file}"
        graph.add_step(
            Step(step_name, _ref(loaded, "SLSA provenance"), meta=statement.build.meta())
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
