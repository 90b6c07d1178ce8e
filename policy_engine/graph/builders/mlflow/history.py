"""Where runs' git commits sit in the repository's history: read with dulwich, nothing run.

One walk from HEAD over its ancestors, stopping as soon as every commit asked
about is found. A shallow clone cannot tell an old ancestor from a stranger: a
commit not found in one is UNKNOWN, not OTHER.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from policy_engine.graph.tracking import CommitStatus

MIN_PREFIX = 7


def commit_statuses(root: Path, commits: Iterable[str]) -> dict[str, CommitStatus]:
    """The status of each recorded commit (full or abbreviated hex) relative to HEAD."""
    wanted = {c for c in commits if c}
    status = {c: CommitStatus.UNKNOWN for c in wanted}
    if not wanted:
        return status
    try:
        from dulwich.repo import Repo

        repo = Repo.discover(str(root))
        head = repo.head().decode()
        shallow = bool(repo.get_shallow())
        walker = repo.get_walker(include=[repo.head()])
        ancestors = (entry.commit.id.decode() for entry in walker)
        found = _find(wanted, head, ancestors)
    except Exception:  # no repository, no HEAD, an unreadable object: history unknown
        return status
    missing = CommitStatus.UNKNOWN if shallow else CommitStatus.OTHER
    return {c: found.get(c, missing) for c in wanted}


def _matches(recorded: str, commit: str) -> bool:
    recorded = recorded.lower()
    return len(recorded) >= MIN_PREFIX and commit.startswith(recorded)


def _find(wanted: set[str], head: str, ancestors: Iterable[str]) -> dict[str, CommitStatus]:
    found: dict[str, CommitStatus] = {}
    for commit in ancestors:
        for recorded in wanted - found.keys():
            if _matches(recorded, commit):
                found[recorded] = CommitStatus.HEAD if commit == head else CommitStatus.ANCESTOR
        if len(found) == len(wanted):
            break
    return found
