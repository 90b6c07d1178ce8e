"""Problems of a supply chain as findings: ``in-toto/<code>`` controls, with their evidence.

Used by ``mlpolicy verify`` (through the same reporters as ``check``) and by
``check`` for the layouts a policy trusts (``graph.layout_problems``). Warnings
(a dropped link, a command that differs, a skipped inspection) are ``info``
findings; everything else is ``high``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from policy_engine.evaluate.findings import Finding, Kind
from policy_engine.graph.model import Evidence

if TYPE_CHECKING:
    from policy_engine.compiler.ir import Location
    from policy_engine.intoto.model import Problem

# code -> (title, kind)
TITLES: dict[str, tuple[str, Kind]] = {
    "layout-unreadable": ("The layout can be read", Kind.INTEGRITY),
    "layout-unsigned": ("The layout is verified with at least one key", Kind.INTEGRITY),
    "layout-signature": ("Every verification key signed the layout", Kind.INTEGRITY),
    "layout-expired": ("The layout is within its expiry", Kind.INTEGRITY),
    "layout-parameter": ("Every layout parameter is given", Kind.POLICY),
    "layout-rule": ("Artifact rules are well formed", Kind.POLICY),
    "link-missing": ("Every step has its link files", Kind.MISSING_EVIDENCE),
    "link-dropped": ("Links are signed by authorised functionaries", Kind.UNAUTHORIZED_STEP),
    "threshold": (
        "Steps are performed by enough distinct authorised functionaries",
        Kind.UNAUTHORIZED_STEP,
    ),
    "links-disagree": ("Functionaries of a step agree on its artifacts", Kind.INTEGRITY),
    "command-mismatch": ("Steps run their expected command", Kind.UNAUTHORIZED_STEP),
    "rule-disallow": ("Artifacts obey the layout's rules (DISALLOW)", Kind.MISSING_LINEAGE),
    "rule-require": ("Artifacts obey the layout's rules (REQUIRE)", Kind.MISSING_LINEAGE),
    "inspection-skipped": ("Inspections are run", Kind.MISSING_EVIDENCE),
    "inspection-not-run": ("Inspections are run", Kind.MISSING_EVIDENCE),
    "gpg-unsupported": ("Keys can be verified", Kind.INTEGRITY),
}
_DEFAULT = ("The supply chain verifies", Kind.INTEGRITY)


def problem_findings(problems: Iterable[Problem], location: Location) -> tuple[Finding, ...]:
    """One finding per problem, located at ``location`` (the layout, or the policy naming it)."""
    return tuple(_finding(p, location) for p in problems)


def _finding(problem: Problem, location: Location) -> Finding:
    title, kind = TITLES.get(problem.code, _DEFAULT)
    return Finding(
        control=f"in-toto/{problem.code}",
        title=title,
        severity="info" if problem.warning else "high",
        stage="secure_pipelines",
        kind=kind,
        subject=problem.subject,
        message=problem.message,
        evidence=tuple(Evidence(label, value) for label, value in problem.evidence),
        location=location,
    )
