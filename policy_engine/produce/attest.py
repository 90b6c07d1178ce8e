"""Producing evidence end to end: what `mlpolicy attest statement` and `attest link` do.

Each function takes what the user gave, resolves the artifacts (named paths,
or a DVC stage's outputs), digests them, signs and writes; every problem with
the inputs is an :class:`~policy_engine.errors.InputError` (exit 2) raised
before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.produce.artifacts import confine, subject_digests
from policy_engine.produce.documents import read_predicate
from policy_engine.produce.links import (
    MISSING_PRODUCT,
    PreparedLink,
    RecordedLink,
    prepare_link,
    record_link,
    sign_link,
)
from policy_engine.produce.stages import load_stage, load_stages
from policy_engine.produce.statements import (
    SignedStatement,
    prepare_predicate,
    sign_statement,
    statement,
)

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

MISSING_SUBJECT = "no such file or folder in the repository"


@dataclass(frozen=True)
class StatementRequest:
    """What to attest: the predicate, and either subject paths or a DVC stage."""

    predicate_type: str
    predicate_file: Path
    subjects: Sequence[str] = ()
    stage: str | None = None


@dataclass(frozen=True)
class AttestedStatement:
    """The signed statement, the timestamp it was given (if any) and the engine's notes."""

    signed: SignedStatement
    timestamp_set: str | None
    notes: tuple[str, ...]


def subject_paths(root: Path, request: StatementRequest) -> tuple[str, ...]:
    """The confined repository paths the statement is about (a stage's outputs for ``stage``)."""
    if request.stage is not None:
        outputs = load_stage(root, request.stage).products
        if not outputs:
            raise InputError(f"stage `{request.stage}` has no outputs to attest", str(root))
        return outputs
    if not request.subjects:
        raise InputError("give at least one subject path, or a stage")
    return tuple(dict.fromkeys(confine(root, raw) for raw in request.subjects))


def attest_statement(
    root: Path, signer: Signer, request: StatementRequest, now: datetime
) -> AttestedStatement:
    """Build, check and sign a Statement v1 (``now``: its timestamp if it states none)."""
    if not root.is_dir():
        raise InputError("repository folder not found", str(root))
    if not request.predicate_type.strip():
        raise InputError("the predicate type must not be empty")
    raw = read_predicate(request.predicate_file)
    prepared = prepare_predicate(request.predicate_type, raw, now, str(request.predicate_file))
    missing = MISSING_PRODUCT if request.stage is not None else MISSING_SUBJECT
    digests = subject_digests(root, subject_paths(root, request), missing)
    document, notes = statement(request.predicate_type, prepared.predicate, digests)
    return AttestedStatement(sign_statement(document, signer), prepared.timestamp_set, notes)


def attest_link(
    root: Path, signer: Signer, stage: str, out_dir: Path | None = None, dsse: bool = False
) -> RecordedLink:
    """Record and sign the link of a DVC stage that ran; write it in ``out_dir``.

    ``out_dir`` defaults to ``root/attestations``. The stage is signed even when it
    changed since DVC recorded it (see :func:`attest_links` for the refusing form).
    """
    loaded = load_stage(root, stage)
    return record_link(root, loaded, signer, out_dir or root / "attestations", dsse)


def attest_links(
    root: Path,
    signer: Signer,
    stages: Sequence[str] | None,
    out_dir: Path | None = None,
    *,
    dsse: bool = False,
    force: bool = False,
) -> list[RecordedLink]:
    """Sign the links of several stages (every stage for None) in one pass.

    Every stage is digested first; unless ``force``, a stage that DVC would report as
    changed (not in the lock, unlike it, params changed, files whose md5 is not the
    lock's) is an :class:`InputError` naming every such stage, and nothing is written.
    """
    loaded = load_stages(root, stages)
    prepared = [prepare_link(root, stage) for stage in loaded]
    changed = [p for p in prepared if p.changes]
    if changed and not force:
        raise InputError(_changed_message(changed))
    folder = out_dir or root / "attestations"
    return [sign_link(p, signer, folder, dsse) for p in prepared]


def _changed_message(changed: Sequence[PreparedLink]) -> str:
    reasons = "; ".join(f"`{p.stage.name}`: {p.changes[0]}" for p in changed)
    return (
        f"{len(changed)} stage(s) changed since DVC recorded them, so a link would sign bytes "
        f"the pipeline did not produce ({reasons}); run `dvc repro` (or `dvc commit`), "
        "or sign anyway with --force; nothing was written"
    )
