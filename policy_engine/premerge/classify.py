"""Which findings a change introduced, fixed or left as they were: pure functions.

Two findings are the same finding when they have the same control and subject.
Where either revision has several findings for one control and subject (several
rules of a control failing for one artifact), the kind joins the key; where
that still leaves several, they are paired in the order of their rules. The
message is never part of the key: it carries digests and counts that change
with every run of a pipeline, while the problem stays the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from policy_engine.evaluate import Finding
from policy_engine.results import Classification

Key = tuple[str, ...]


def _pair(finding: Finding) -> tuple[str, str]:
    return (finding.control, finding.subject)


def _rule_order(finding: Finding) -> tuple[str, int, int]:
    loc = finding.location
    return (loc.file, loc.line, loc.column)


def ambiguous_pairs(*sides: Iterable[Finding]) -> frozenset[tuple[str, str]]:
    """The (control, subject) pairs that some side has more than once."""
    ambiguous: set[tuple[str, str]] = set()
    for side in sides:
        counts = Counter(_pair(f) for f in side)
        ambiguous |= {pair for pair, n in counts.items() if n > 1}
    return frozenset(ambiguous)


def match_keys(findings: Sequence[Finding], ambiguous: frozenset[tuple[str, str]]) -> list[Key]:
    """One key per finding, in the same order: (control, subject), plus the kind when the pair
    is ambiguous, plus an ordinal (in rule order) among findings that still share a key."""
    base_keys = [(*_pair(f), f.kind.value) if _pair(f) in ambiguous else _pair(f) for f in findings]
    seen: Counter[Key] = Counter()
    keys: list[Key] = [()] * len(findings)
    for index in sorted(range(len(findings)), key=lambda i: _rule_order(findings[i])):
        key = base_keys[index]
        keys[index] = (*key, str(seen[key]))
        seen[key] += 1
    return keys


def classify(base: Sequence[Finding], head: Sequence[Finding]) -> Classification:
    """Split the findings of two revisions into new, fixed and unchanged (kept in input order)."""
    ambiguous = ambiguous_pairs(base, head)
    base_keys, head_keys = match_keys(base, ambiguous), match_keys(head, ambiguous)
    in_base, in_head = set(base_keys), set(head_keys)
    return Classification(
        new=tuple(f for f, k in zip(head, head_keys, strict=True) if k not in in_base),
        fixed=tuple(f for f, k in zip(base, base_keys, strict=True) if k not in in_head),
        unchanged=tuple(f for f, k in zip(head, head_keys, strict=True) if k in in_base),
    )
