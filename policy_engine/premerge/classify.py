"""Which findings a change introduced, fixed or left as they were: pure functions.

Both revisions are judged with one policy, so a finding can be compared like
with like: two findings are the same finding when the same rule (its location
in that policy) of the same control fails for the same subject with the same
kind of problem. Where that still leaves several (a rule failing twice for one
subject), they are paired in order. The message is never part of the key: it
carries digests and counts that change with every run of a pipeline, while the
problem stays the same.

A base finding about an artifact the base could not see (no bytes at the base,
bytes at the head) judged something else than the head's finding would: it is
set aside, neither fixed nor matched, and the head's findings about that
artifact count as new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from policy_engine.evaluate import Finding
from policy_engine.results import Classification

Key = tuple[str, ...]


def same_problem(finding: Finding) -> Key:
    """What makes two findings the same: control, subject, kind and the rule's location."""
    loc = finding.location
    return (
        finding.control,
        finding.subject,
        finding.kind.value,
        loc.file,
        str(loc.line),
        str(loc.column),
    )


def match_keys(findings: Sequence[Finding]) -> list[Key]:
    """One key per finding, in the same order: :func:`same_problem` plus an ordinal among the
    findings that share it."""
    seen: Counter[Key] = Counter()
    keys: list[Key] = []
    for finding in findings:
        key = same_problem(finding)
        keys.append((*key, str(seen[key])))
        seen[key] += 1
    return keys


def classify(
    base: Sequence[Finding], head: Sequence[Finding], unseen: Collection[str] = frozenset()
) -> Classification:
    """Split the findings of two revisions into new, fixed and unchanged (kept in input order).

    ``unseen``: subjects whose bytes the base did not have and the head has; the base's
    findings about them are set aside.
    """
    compared = [f for f in base if f.subject not in unseen]
    base_keys, head_keys = match_keys(compared), match_keys(head)
    in_base, in_head = set(base_keys), set(head_keys)
    return Classification(
        new=tuple(f for f, k in zip(head, head_keys, strict=True) if k not in in_base),
        fixed=tuple(f for f, k in zip(compared, base_keys, strict=True) if k not in in_head),
        unchanged=tuple(f for f, k in zip(head, head_keys, strict=True) if k in in_base),
        set_aside=tuple(f for f in base if f.subject in unseen),
    )
