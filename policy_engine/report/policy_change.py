"""A diff's policy change in words, shared by every diff format."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy_engine.results import DiffResult, PolicyChange

RULE_ID = "mlpolicy/policy-change"
TITLE = "The policy and its trusted keys are those of the base"


def status(diff: DiffResult) -> str:
    """Whether the change fails the diff, and why (or why not)."""
    whose = f"judged with the {diff.judged_with}'s policy"
    if diff.policy_change_fails:
        return f"fails the diff ({whose}; give --allow-policy-change to accept it)"
    if diff.allow_policy_change and diff.policy_from == "base":
        return f"is allowed by --allow-policy-change ({whose})"
    return f"is reported only (--policy-from head: {whose})"


def summary(diff: DiffResult, change: PolicyChange) -> str:
    """One line: what changed, then the status."""
    what = change.describe()
    adopted = "" if change.base_has_policy else "the base has no policy; "
    return f"the policy changed ({adopted}{what}): {status(diff)}"
