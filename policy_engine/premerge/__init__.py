"""Pre-merge evaluation: the findings a change introduces, fixes or leaves as they were.

``run_diff`` evaluates a base and a head revision of a git repository with the
head's policy (:mod:`.run`); :mod:`.classify` pairs their findings (pure
functions); :mod:`.git` makes and removes the temporary worktrees.
"""

from policy_engine.premerge.classify import classify
from policy_engine.premerge.run import DiffRequest, InvalidPolicy, run_diff
from policy_engine.results import Classification, DiffResult, Revision, failing

__all__ = [
    "Classification",
    "DiffRequest",
    "DiffResult",
    "InvalidPolicy",
    "Revision",
    "classify",
    "failing",
    "run_diff",
]
