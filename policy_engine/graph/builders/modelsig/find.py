"""Where model signatures are found, and which model each one signs.

* Beside every artifact of the graph (a DVC output, a statement subject): a
  folder ``M`` signed by ``M/model.sig`` or ``M.sig``; a file ``F`` by ``F.sig``.
* Under every attestation path (``attestations in``, ``--attestations``): a file
  named ``model.sig`` signs the folder that holds it; ``X.sig`` signs ``X``
  beside it, when ``X`` exists.

Beside artifacts, each folder is listed once (:mod:`..listing`, shared with the
workspace builder); a name is looked up only where the listing cannot prove it
absent. Both the signature and the model must be inside the repository (a symlink
leaving it is a ``path-escape`` issue); hidden folders are not searched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from policy_engine.graph.builders.listing import Listings, by_folder
from policy_engine.graph.model import Evidence, Issue
from policy_engine.graph.paths import PathEscape, normalise

SIGNATURE_NAME = "model.sig"
SIGNATURE_SUFFIX = ".sig"


@dataclass(frozen=True)
class Found:
    """A signature (repository-relative) and the model it signs (repository-relative)."""

    signature: str
    model: str


def find_signatures(
    root: Path,
    artifacts: Iterable[str],
    attestation_paths: Iterable[Path],
    issues: list[Issue],
    listings: Listings | None = None,
) -> list[Found]:
    """Every (signature, model) pair, once each, sorted by signature.

    ``listings`` (a new one when None) lists each folder beside the artifacts once.
    """
    pairs: dict[str, str] = {}
    beside = _beside(root, artifacts, listings or Listings())
    for signature, model in [*beside, *_under(root, attestation_paths)]:
        try:
            sig, target = normalise(root, signature), normalise(root, model)
        except PathEscape as escape:
            issues.append(_escape(signature, str(escape)))
            continue
        pairs.setdefault(sig, target)
    return [Found(sig, model) for sig, model in sorted(pairs.items())]


def _beside(root: Path, artifacts: Iterable[str], listings: Listings) -> Iterator[tuple[str, str]]:
    """Signatures beside artifacts, found as ``os.path.isfile`` finds them, from one listing
    of each folder (a name the listing proves absent is not looked up)."""
    base = os.path.realpath(root)
    for folder, names in by_folder(artifacts):
        parent = os.path.join(base, folder) if folder else base
        prefix = f"{folder}/" if folder else ""
        for name in listings.may_be_dirs(parent, names):
            if _is_file(listings, os.path.join(parent, name), SIGNATURE_NAME):
                yield f"{prefix}{name}/{SIGNATURE_NAME}", f"{prefix}{name}"
        signatures = [name + SIGNATURE_SUFFIX for name in names]
        for signature in listings.unproven(parent, signatures):
            if os.path.isfile(os.path.join(parent, signature)):
                yield f"{prefix}{signature}", f"{prefix}{signature[: -len(SIGNATURE_SUFFIX)]}"


def _is_file(listings: Listings, folder: str, name: str) -> bool:
    return not listings.absent(folder, name) and os.path.isfile(os.path.join(folder, name))


def _under(root: Path, paths: Iterable[Path]) -> Iterator[tuple[str, str]]:
    real_root = os.path.realpath(root)
    for path in paths:
        for file in [path] if os.path.isfile(path) else _walk(path):
            relative = os.path.relpath(os.path.realpath(file), real_root)
            if relative.startswith(".."):
                continue  # a signature outside the repository signs nothing in it
            pair = _model_of(root, Path(relative).as_posix())
            if pair is not None:
                yield pair


def _walk(directory: Path) -> Iterator[Path]:
    for current, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(name for name in filenames if name.endswith(SIGNATURE_SUFFIX)):
            yield Path(current, name)


def _model_of(root: Path, signature: str) -> tuple[str, str] | None:
    name = signature.rsplit("/", 1)[-1]
    if name == SIGNATURE_NAME:
        return signature, signature.rsplit("/", 1)[0] if "/" in signature else "."
    model = signature[: -len(SIGNATURE_SUFFIX)]
    return (signature, model) if os.path.exists(root / model) else None


def _escape(path: str, reason: str) -> Issue:
    message = f"model signature `{path}` is not read: {reason}"
    return Issue("path-escape", path, message, (Evidence("path", path),))
