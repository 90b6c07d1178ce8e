"""Coverage of a policy by its unit tests: which controls some passing test shows failing
(it expects a finding of the control) and passing (the control examined at least one
subject and gave no finding).

Only passing tests count: a failing test shows nothing. A control a test ignores is
not covered by that test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from policy_engine import globs
from policy_engine.evaluate import ControlResult


@dataclass(frozen=True)
class CaseCoverage:
    """What one passing test showed: controls seen failing, and seen passing."""

    failing: frozenset[str] = frozenset()
    passing: frozenset[str] = frozenset()


def case_coverage(
    controls: Iterable[ControlResult], expected: Iterable[str], ignore: tuple[str, ...]
) -> CaseCoverage:
    """The controls one test shows failing (expected findings) and passing (clean, non-empty)."""
    seen = [c for c in controls if not globs.matches_any(ignore, c.control.id)]
    passing = {
        c.control.id for c in seen if c.subjects and not (c.findings or c.waived or c.undecided)
    }
    known = {c.control.id for c in seen}
    return CaseCoverage(frozenset(set(expected) & known), frozenset(passing))


@dataclass(frozen=True)
class ControlCoverage:
    control: str
    fails: bool  # some passing test expects a finding of it
    passes: bool  # some passing test shows it passing on a subject


@dataclass(frozen=True)
class Coverage:
    controls: tuple[ControlCoverage, ...] = ()

    @property
    def covered(self) -> int:
        """Outcomes shown: each control counts twice, once failing and once passing."""
        return sum(c.fails + c.passes for c in self.controls)

    @property
    def percent(self) -> float:
        total = 2 * len(self.controls)
        return 100.0 if not total else 100.0 * self.covered / total


def combine(control_ids: Iterable[str], cases: Iterable[CaseCoverage]) -> Coverage:
    """The coverage of every control over the tests' cases."""
    shown = list(cases)
    fails = set().union(*(c.failing for c in shown))
    passes = set().union(*(c.passing for c in shown))
    return Coverage(tuple(ControlCoverage(i, i in fails, i in passes) for i in control_ids))
