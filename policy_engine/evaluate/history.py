"""History: verified statements about bytes an artifact no longer has.

They are neither failures nor passes (a retrain leaves the evidence of the old
model behind); reports list them so an auditor can see what was superseded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from policy_engine.evaluate.context import EvalContext


@dataclass(frozen=True)
class Superseded:
    """A statement, signed by a trusted key, about ``subject`` at bytes it no longer has."""

    file: str
    subject: str
    predicate_type: str


def superseded(ctx: EvalContext) -> tuple[Superseded, ...]:
    """Every verified statement subject that names other bytes than the current ones."""
    return tuple(sorted(_superseded(ctx), key=lambda s: (s.subject, s.file)))


def _superseded(ctx: EvalContext) -> Iterator[Superseded]:
    for path, found in ctx.subjects_by_path.items():
        if ctx.graph.workspace(path) is None and ctx.graph.locked(path) is None:
            continue  # no current bytes for a statement to be older than
        for att, digest in found:
            if att.signers and ctx.at_current_digest(path, digest) is False:
                yield Superseded(att.file, path, att.predicate_type)
