"""Shared inputs of the reporter tests: the tampered example, checked once, and a comparison."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from policy_engine.api import check, load_policy
from policy_engine.results import CheckResult, DiffResult, LoadedPolicy, Revision

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TAMPERED = FIXTURES / "example-ml-tampered"
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)  # after the example evidence is dated


Tampered = tuple[LoadedPolicy, CheckResult]


def _evaluate(root: Path = TAMPERED) -> Tampered:
    loaded = load_policy([root / "policies"], root)
    assert loaded.policy is not None
    return loaded, check(loaded.policy, root, (), NOW)


@pytest.fixture(scope="session")
def tampered() -> Tampered:
    """The policy and the evaluation of the tampered example (five findings)."""
    return _evaluate()


@pytest.fixture
def evaluate() -> Callable[[], Tampered]:
    """Evaluates the tampered example afresh."""
    return _evaluate


@pytest.fixture
def make_diff(tampered: Tampered) -> Callable[..., DiffResult]:
    """Builds a comparison whose head is the tampered example (see :func:`_diff`)."""
    return lambda fail_on_unchanged=False, **kw: _diff(tampered, fail_on_unchanged, **kw)


def _diff(tampered: Tampered, fail_on_unchanged: bool, **kw: Any) -> DiffResult:
    """A comparison whose head is the tampered example: DE-01 and DP-01 are new, the
    lineage finding was fixed, the rest is unchanged."""
    loaded, result = tampered
    findings = result.evaluation.findings
    new = tuple(f for f in findings if f.control in ("DE-01", "DP-01"))
    fixed = tuple(f for f in findings if f.control == "TR-02")
    unchanged = tuple(f for f in findings if f not in new and f not in fixed)
    return DiffResult(
        repository="fixtures/example-ml-tampered",
        base=Revision("main", "1" * 40),
        head=Revision(None, "2" * 40, dirty=True),
        policy_change=kw.pop("policy_change", None),
        result=result,
        new=new,
        fixed=fixed,
        unchanged=unchanged,
        notes=("the working tree has uncommitted changes: they are part of the head",),
        fail_on="low",
        fail_on_unchanged=fail_on_unchanged,
        loaded=loaded,
        **kw,
    )
