"""What a run produces: a loaded policy, a check's result, a diff's result; read by reporters.

Frozen types over the policy, the graph and the evaluation. A diff's gate
(:func:`failing`) is a pure function of its classification, so that reporters
and the CLI agree on which findings fail it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policy_engine.diagnostics import Diagnostic, has_errors
from policy_engine.lifecycle import severity_rank

if TYPE_CHECKING:
    from policy_engine.compiler import ir
    from policy_engine.evaluate import Evaluation, Finding
    from policy_engine.graph.model import ProvenanceGraph


@dataclass(frozen=True)
class LoadedPolicy:
    policy: ir.PolicySet | None  # None when there are errors, or when only checked
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str]  # displayed file name -> text, for rendering diagnostics
    controls: int = 0  # how many controls the policy declares

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


@dataclass(frozen=True)
class CheckResult:
    policy: ir.PolicySet
    graph: ProvenanceGraph
    evaluation: Evaluation


@dataclass(frozen=True)
class Classification:
    """Findings of the head that the base did not have, of the base that the head has not, and
    of both (as the head reports them)."""

    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]


def at_or_above(findings: Iterable[Finding], severity: str) -> tuple[Finding, ...]:
    """The findings whose severity is ``severity`` or higher."""
    threshold = severity_rank(severity)
    return tuple(f for f in findings if severity_rank(f.severity) >= threshold)


def failing(
    classification: Classification, fail_on: str, fail_on_unchanged: bool = False
) -> tuple[Finding, ...]:
    """The findings that fail a pre-merge gate: new ones (and unchanged ones, when asked) at or
    above ``fail_on`` that no current waiver covers."""
    candidates = classification.new + (classification.unchanged if fail_on_unchanged else ())
    return at_or_above((f for f in candidates if not f.waived), fail_on)


@dataclass(frozen=True)
class Revision:
    """One side of the comparison."""

    ref: str | None  # as the user named it; None for the working tree
    commit: str | None  # None only for the working tree of a repository without commits
    dirty: bool = False  # the working tree had uncommitted changes or untracked files
    evaluated: bool = True  # False: the repository was absent or could not be judged there

    @property
    def label(self) -> str:
        return self.ref if self.ref is not None else "working tree"


@dataclass(frozen=True)
class DiffResult:
    """The comparison, with the head's full evaluation for reporters that list controls."""

    repository: str
    base: Revision
    head: Revision
    policy_changed: bool
    result: CheckResult  # the head's
    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]
    notes: tuple[str, ...]
    fail_on: str
    fail_on_unchanged: bool
    loaded: LoadedPolicy  # the head's policy, with its warnings

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The findings that make the gate fail (exit status 1)."""
        return failing(
            Classification(self.new, self.fixed, self.unchanged),
            self.fail_on,
            self.fail_on_unchanged,
        )
