"""The model-signature builders: verified ``model.sig`` bundles become facts on the graph.

Two builders, around the workspace builder:

* :func:`read_model_signatures` finds each signature (:mod:`.find`), verifies it
  with the policy's trusted keys, CAs and Sigstore identities (:mod:`.trust`),
  hashes the model as the signature says, and adds the model as an artifact of
  kind ``model`` (so the workspace builder hashes it). Files the manifest does
  not name (``model-unsigned-file``), names missing from the model
  (``model-missing-file``) and changed files (``model-file-changed``) are issues.
* :func:`add_model_signatures`, once the workspace is hashed, gives the model its
  current ``model_signing.sha256`` root digest and adds one statement per
  signature: the model is its subject at the signed root digest, and each signed
  file (``files`` serialization) that another source made an artifact (e.g. a
  DVC-tracked file) a subject at its signed digest. The signer is the key, CA or
  identity that verified it; an unverified signature names no subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine import inputs
from policy_engine.errors import InputError
from policy_engine.graph.builders.listing import Listings, artifact_paths
from policy_engine.graph.builders.modelsig import verify
from policy_engine.graph.builders.modelsig.find import Found, find_signatures
from policy_engine.graph.builders.modelsig.trust import Checked, check
from policy_engine.graph.model import Attestation, Evidence, Issue, ProvenanceGraph, SourceRef
from policy_engine.graph.paths import PathEscape, normalise

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext

ROOT_ALGORITHM = "model_signing.sha256"
_DEFERRED = "modelsig.pending"


@dataclass(frozen=True)
class Pending:
    """A signature read and checked: its predicate type, the signed files as
    (repository path, algorithm, digest), and the model's root digest now when hashed."""

    found: Found
    checked: Checked
    predicate_type: str
    files: tuple[tuple[str, str, str], ...] = ()
    current_root: str | None = None


def read_model_signatures(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Find, verify and compare every model signature (before the workspace builder)."""
    artifacts = artifact_paths(graph, context)  # kept for the workspace builder
    listings = Listings.of(context)  # the workspace builder stats the files from them
    found = find_signatures(
        context.root, artifacts, context.attestation_paths, graph.issues, listings
    )
    pending = [_read(graph, context, each) for each in found if _signs_a_model(graph, each)]
    context.deferred[_DEFERRED] = pending


def _signs_a_model(graph: ProvenanceGraph, found: Found) -> bool:
    if found.model == ".":
        graph.notes.append(f"{found.signature}: signs the whole repository; not read")
        return False
    return True


def _read(graph: ProvenanceGraph, context: BuildContext, found: Found) -> Pending:
    path = context.root / found.signature
    document = inputs.loads(inputs.read_bytes(path, found.signature), found.signature)
    mode = verify.mode_of(document)
    if mode is None:
        raise InputError("not a model signature (a Sigstore bundle)", found.signature)
    verify.require_library(found.signature)
    checked = check(path, mode, context.keyring)
    graph.add_artifact(found.model)
    kind = verify.predicate_type(document)
    if checked.manifest is None:
        graph.notes.append(f"{found.signature}: {checked.check.reason}")
        return Pending(found, checked, kind)
    graph.set_kind(found.model, "model")
    files = tuple(_files(graph, context, found, checked.manifest))
    root = _current_root(graph, context, found, checked.manifest)
    return Pending(found, checked, kind, files, root)


def _files(
    graph: ProvenanceGraph, context: BuildContext, found: Found, manifest: Any
) -> Iterator[tuple[str, str, str]]:
    """The whole files a ``files`` manifest signs, confined to the repository."""
    if manifest.serialization_type.get("method") != "files":
        return  # shards name parts of files, not files
    for name, algorithm, digest in verify.resources_of(manifest):
        try:
            yield _resource_path(context.root, found.model, name), algorithm, digest
        except PathEscape as escape:
            message = f"model signature `{found.signature}` names a file outside it: {escape}"
            graph.issues.append(Issue("path-escape", found.model, message))


def _current_root(
    graph: ProvenanceGraph, context: BuildContext, found: Found, manifest: Any
) -> str | None:
    model = context.root / found.model
    inside = found.signature.startswith(f"{found.model}/")
    signature = [Path(found.signature[len(found.model) + 1 :])] if inside else []
    try:
        actual = verify.hash_model(model, manifest, signature)
    except (OSError, ValueError) as exc:
        message = f"model `{found.model}` could not be hashed: {exc}"
        graph.issues.append(Issue("unreadable-file", found.model, message))
        return None
    graph.issues.extend(_differences(found, verify.compare(actual, manifest)))
    return verify.root_digest(actual)


def _differences(found: Found, comparison: verify.Comparison) -> list[Issue]:
    evidence = (Evidence("model signature", found.signature),)
    issues = [
        Issue("model-unsigned-file", _member(found.model, name), message, evidence)
        for name in comparison.extra
        if (message := f"`{name}` is in model `{found.model}` but its signature does not name it")
    ]
    issues += [
        Issue("model-missing-file", _member(found.model, name), message, evidence)
        for name in comparison.missing
        if (message := f"`{name}` is signed as part of model `{found.model}` but is missing")
    ]
    issues += [
        Issue("model-file-changed", _member(found.model, name), message, evidence)
        for name in comparison.changed
        if (message := f"`{name}` of model `{found.model}` is not the signed bytes")
    ]
    return issues


def add_model_signatures(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Add the signatures read by :func:`read_model_signatures` (after the workspace)."""
    for pending in context.deferred.pop(_DEFERRED, []):
        current = graph.workspace(pending.found.model)
        if current is not None and pending.current_root is not None:
            extra = ((ROOT_ALGORITHM, pending.current_root),)
            graph.set_workspace(pending.found.model, replace(current, extra=extra))
        graph.add_attestation(_attestation(graph, pending), _ref(pending.found))


def _attestation(graph: ProvenanceGraph, pending: Pending) -> Attestation:
    """The signature as a statement: the model at its root digest, and each signed file
    that is an artifact of the graph (e.g. DVC-tracked) at its own digest."""
    checked, found = pending.checked, pending.found
    subjects: dict[str, dict[str, str]] = {}
    for file, algorithm, digest in pending.files:
        if file == found.model or graph.artifact_id(file) in graph.g:
            subjects.setdefault(file, {})[algorithm] = digest
    if checked.manifest is not None:
        root = {ROOT_ALGORITHM: verify.root_digest(checked.manifest)}
        subjects[found.model] = {**subjects.get(found.model, {}), **root}
    return Attestation(
        file=found.signature,
        kind="statement",
        envelope="sigstore",
        signatures=(checked.check,),
        predicate_type=pending.predicate_type,
        predicate=_predicate(pending),
        subjects=subjects,
    )


def _predicate(pending: Pending) -> dict[str, Any]:
    manifest = pending.checked.manifest
    predicate: dict[str, Any] = {"model": pending.found.model, "mode": pending.checked.mode}
    if manifest is not None:
        predicate["serialization"] = dict(manifest.serialization_type)
        predicate["root_digest"] = verify.root_digest(manifest)
    return predicate


def _resource_path(root: Path, model: str, name: str) -> str:
    """The repository path of a manifest name (``.`` is the single-file model itself)."""
    return model if name in (".", "") else normalise(root, name, model)


def _member(model: str, name: str) -> str:
    """How a finding names a file of the model (as given: it may not be a safe path)."""
    return model if name in (".", "") else f"{model}/{name}"


def _ref(found: Found) -> SourceRef:
    return SourceRef(found.signature, None, "model signature")
