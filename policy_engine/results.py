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
    of both (as the head reports them); and the base's findings that were not compared
    (about artifacts whose bytes the base did not have)."""

    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]
    set_aside: tuple[Finding, ...] = ()


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
    dirty: bool = False  # uncommitted changes, untracked files, or outputs unlike dvc.lock
    evaluated: bool = True  # False: the repository was absent or could not be judged there
    reason: str | None = None  # why it was not evaluated

    @property
    def label(self) -> str:
        return self.ref if self.ref is not None else "working tree"


@dataclass(frozen=True)
class PolicyChange:
    """How the policy differs between base and head: its files, the keys it trusts, its
    controls (by id; a control is changed when anything but its locations differs)."""

    files: tuple[str, ...]  # policy files added, removed or edited (displayed names)
    keys: tuple[str, ...]  # key names added, removed, or with other key material
    added: tuple[str, ...] = ()  # control ids
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    base_has_policy: bool = True  # False: the change adopts mlpolicy

    def parts(self) -> list[tuple[str, tuple[str, ...]]]:
        """The non-empty parts: files, keys, then controls added, removed and changed."""
        every = [
            ("files", self.files),
            ("keys", self.keys),
            ("controls added", self.added),
            ("controls removed", self.removed),
            ("controls changed", self.changed),
        ]
        return [(label, names) for label, names in every if names]

    def describe(self) -> str:
        """The parts in one line."""
        return "; ".join(f"{label}: {', '.join(names)}" for label, names in self.parts())


@dataclass(frozen=True)
class DiffResult:
    """The comparison, with the head's full evaluation for reporters that list controls.

    Both revisions were judged with one policy: the base's (``policy_from`` "base")
    or the head's. A policy change fails the gate when the base's policy was to
    judge and the change was not allowed.
    """

    repository: str
    base: Revision
    head: Revision
    policy_change: PolicyChange | None
    result: CheckResult  # the head's
    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]
    notes: tuple[str, ...]
    fail_on: str
    fail_on_unchanged: bool
    loaded: LoadedPolicy  # the policy that judged, with its warnings
    policy_from: str = "base"  # "base" | "head": whose policy was asked for
    judged_with: str = "base"  # "base" | "head": whose policy judged
    allow_policy_change: bool = False

    @property
    def policy_changed(self) -> bool:
        return self.policy_change is not None

    @property
    def policy_change_fails(self) -> bool:
        """The policy changed, the base's policy was asked for, and the change is not allowed."""
        asked = self.policy_from == "base"
        return self.policy_changed and asked and not self.allow_policy_change

    @property
    def fails(self) -> bool:
        """The gate's verdict (exit status 1): a failing finding or a blocking policy change."""
        return bool(self.failing) or self.policy_change_fails

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The findings that make the gate fail (exit status 1)."""
        return failing(
            Classification(self.new, self.fixed, self.unchanged),
            self.fail_on,
            self.fail_on_unchanged,
        )
