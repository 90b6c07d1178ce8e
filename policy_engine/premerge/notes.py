"""The notes of a diff: what a reader must know to trust its comparison."""

from __future__ import annotations

from collections.abc import Sequence

from policy_engine.evaluate import Finding
from policy_engine.results import Revision

MAX_NAMED = 5


def of(
    base_problem: str | None,
    head: Revision,
    outputs: Sequence[str],
    set_aside: Sequence[Finding],
) -> tuple[str, ...]:
    """Every note that applies, in a fixed order. ``head`` as git sees it; ``outputs``: the
    DVC outputs changed in the working tree."""
    found = (
        _base(base_problem),
        _uncommitted(head),
        _outputs(outputs),
        _set_aside(set_aside),
    )
    return tuple(note for note in found if note)


def _base(problem: str | None) -> str | None:
    return f"{problem}: every finding is new" if problem else None


def _uncommitted(head: Revision) -> str | None:
    if head.dirty:
        return "the working tree has uncommitted changes: they are part of the head"
    return None


def _outputs(outputs: Sequence[str]) -> str | None:
    if not outputs:
        return None
    return (
        f"DVC outputs in the working tree differ from what DVC recorded ({_named(outputs)}): "
        "they are part of the head"
    )


def _set_aside(findings: Sequence[Finding]) -> str | None:
    if not findings:
        return None
    subjects = sorted({f.subject for f in findings})
    return (
        f"{len(findings)} finding(s) of the base are about artifacts whose bytes the base did "
        f"not have ({_named(subjects)}): not compared, and the head's findings about them are new"
    )


def _named(names: Sequence[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")
