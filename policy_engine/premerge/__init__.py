"""Pre-merge evaluation: the findings a change introduces, fixes or leaves as they were.

``run_diff`` evaluates a base and a head revision of a git repository with one
policy, the base's by default (:mod:`.run`; :mod:`.policies` chooses it and says
how it changed); :mod:`.classify` pairs their findings (pure functions);
:mod:`.outputs` finds DVC outputs changed in the working tree; :mod:`.git` makes
and removes the temporary worktrees.
"""

from policy_engine.premerge.classify import classify
from policy_engine.premerge.run import DiffRequest, InvalidPolicy, run_diff
from policy_engine.results import Classification, DiffResult, PolicyChange, Revision, failing

__all__ = [
    "Classification",
    "DiffRequest",
    "DiffResult",
    "InvalidPolicy",
    "PolicyChange",
    "Revision",
    "classify",
    "failing",
    "run_diff",
]
