"""Running policy unit tests: each case is a graph (inline or a fixture folder) and the
findings the policy must give on it, no more and no fewer.

A test file (``*.policytest.yaml``)::

    tests:
      - name: an edited model is caught
        repo: ../fixtures/example-ml-tampered   # a folder, relative to this file
        expect:
          - {control: DE-01, subject: models/model.json}
        ignore: ["builtin/*"]                  # controls whose findings are not compared
      - name: inline graph
        at: 2026-11-01T00:00:00Z               # evaluation time (freshness, waivers)
        graph: {steps: [...], workspace: {...}, attestations: [...]}
        expect: []
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from policy_engine import globs, inputs
from policy_engine.compiler import ir
from policy_engine.errors import InputError
from policy_engine.evaluate import Finding, evaluate
from policy_engine.files import git_work_tree
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.testing.coverage import CaseCoverage, Coverage, case_coverage, combine
from policy_engine.testing.spec import GraphSpec, build_graph

TEST_SUFFIX = ".policytest.yaml"
MAX_TEST_BYTES = 4 * 1024 * 1024


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expected(_Spec):
    control: str
    subject: str
    kind: str | None = None
    contains: str | None = None  # a part of the message
    waived: bool = False

    def matches(self, finding: Finding) -> bool:
        return (
            finding.control == self.control
            and finding.subject == self.subject
            and finding.waived == self.waived
            and (self.kind is None or finding.kind.value == self.kind)
            and (self.contains is None or self.contains in finding.message)
        )

    def __str__(self) -> str:
        extra = f" ({self.kind})" if self.kind else ""
        return f"{self.control} on `{self.subject}`{extra}" + (" waived" if self.waived else "")


class PolicyTest(_Spec):
    name: str
    at: datetime | None = None
    graph: GraphSpec | None = None
    repo: str | None = None
    attestations: list[str] = []
    expect: list[Expected] = []
    ignore: list[str] = []


class PolicyTestFile(_Spec):
    tests: list[PolicyTest]


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    missing: tuple[Expected, ...]
    unexpected: tuple[Finding, ...]
    coverage: CaseCoverage = field(default_factory=CaseCoverage)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unexpected


def load_test_file(path: Path) -> PolicyTestFile:
    """Read and validate a test file; problems are an InputError naming the file."""
    document = inputs.read_yaml(path, str(path), MAX_TEST_BYTES)
    try:
        return PolicyTestFile.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"invalid test file: `{field}`: {first['msg']}", str(path)) from None


def run_case(
    case: PolicyTest, policy: ir.PolicySet, graph: ProvenanceGraph, file: str
) -> CaseResult:
    """Evaluate one case and compare its findings with the expected ones."""
    now = case.at or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    evaluation = evaluate(policy, graph, now)
    ignore = tuple(case.ignore)
    findings = [f for f in evaluation.findings if not globs.matches_any(ignore, f.control)]
    missing = tuple(e for e in case.expect if not any(e.matches(f) for f in findings))
    unexpected = tuple(f for f in findings if not any(e.matches(f) for e in case.expect))
    shown = case_coverage(evaluation.controls, (e.control for e in case.expect), ignore)
    return CaseResult(file, case.name, missing, unexpected, shown)


def case_graph(case: PolicyTest, base: Path, policy: ir.PolicySet) -> ProvenanceGraph:
    """The case's graph: inline, or built from a fixture folder relative to the test file."""
    if (case.graph is None) == (case.repo is None):
        raise InputError(f"test `{case.name}` needs exactly one of `graph` and `repo`")
    if case.graph is not None:
        try:
            return build_graph(case.graph, policy)
        except ValueError as exc:
            raise InputError(f"test `{case.name}`: {exc}") from None
    from policy_engine.api import build

    repo = base / str(case.repo)
    attestations = [base / a for a in case.attestations]
    inside = (git_work_tree(base) or base,)
    for path, what in ((repo, "`repo`"), *((a, "`attestations`") for a in attestations)):
        inputs.confine(path, inside, str(base), f"test `{case.name}`: {what}")
    return build(policy, repo, attestations)


@dataclass(frozen=True)
class PolicyTestReport:
    results: tuple[CaseResult, ...]
    unexercised: tuple[str, ...]  # controls no test expects a finding of
    coverage: Coverage = field(default_factory=Coverage)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def run_files(
    paths: Sequence[Path], policy: ir.PolicySet, display: Callable[[Path], str]
) -> PolicyTestReport:
    """Run every test of every file; the report says which passed and what they cover."""
    results: list[CaseResult] = []
    exercised: set[str] = set()
    for path in paths:
        for case in load_test_file(path).tests:
            graph = case_graph(case, path.parent, policy)
            results.append(run_case(case, policy, graph, display(path)))
            exercised |= {e.control for e in case.expect}
    unexercised = tuple(c.id for c in policy.controls if c.id not in exercised)
    shown = (r.coverage for r in results if r.passed)
    coverage = combine((c.id for c in policy.controls), shown)
    return PolicyTestReport(tuple(results), unexercised, coverage)


def find_test_files(paths: Sequence[Path]) -> list[Path]:
    """``*.policytest.yaml`` files named or found under the named folders."""
    from policy_engine.loader import find_files

    return find_files(paths, TEST_SUFFIX, "test")
