"""Confining artifact paths named by attestations to the repository.

Paths are normalised as :func:`policy_engine.graph.paths.normalise` does (by its
:class:`~policy_engine.graph.paths.Normaliser`, each folder resolved once); absolute
paths, ``..`` leaving the repository and symlinks resolving outside it are
``path-escape`` issues, and the path is left out of the attestation.

The links of one step signed by several keys name the same artifacts: a table
equal to the one confined just before with the same normaliser, which raised no
issue, is answered by that call's result (the same dict, whose values are only
ever replaced by equal ones), without normalising its paths again. Only the
latest normaliser's (one build's) are remembered, and forgotten with it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from policy_engine.graph.model import Evidence, Issue
from policy_engine.graph.paths import Normaliser, PathEscape, shown

__all__ = ["Normaliser", "confined"]  # the normaliser's home is graph.paths


class _Memo:
    """What one normaliser's calls remember (see the module docstring)."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[Mapping[str, Any], dict[str, Mapping[str, str]]]] = {}
        self.digests: dict[str, Mapping[str, str]] = {}  # path -> the first digests it had


# the latest normaliser (weakly held) and its memo
_memos: weakref.WeakKeyDictionary[Normaliser, _Memo] = weakref.WeakKeyDictionary()


def confined(
    normalise_path: Normaliser,
    artifacts: Mapping[str, Any],
    where: tuple[str, str, str],
    role: str,
    issues: list[Issue],
) -> dict[str, Mapping[str, str]]:
    """Normalise the paths of ``artifacts`` (path -> digests) named in ``role`` of a document.

    ``where`` is (file, kind, name), e.g. ``("a.link", "link", "train")``. Escapes
    and paths named twice with different digests become ``issues``. The result is
    shared with an equal table confined just before, and its digests with earlier
    tables (see the module docstring); read it, never change it.
    """
    memo = _memos.get(normalise_path)
    if memo is None:  # another normaliser: only the latest's are kept
        _memos.clear()
        memo = _memos[normalise_path] = _Memo()
    last = memo.last.get(role)
    if last is not None and last[0] == artifacts:
        return last[1]
    count = len(issues)
    kept = _confined(normalise_path, artifacts, where, role, (issues, memo.digests))
    if len(issues) == count:
        memo.last[role] = (artifacts, kept)
    return kept


def _confined(
    normalise_path: Normaliser,
    artifacts: Mapping[str, Any],
    where: tuple[str, str, str],
    role: str,
    found: tuple[list[Issue], dict[str, Mapping[str, str]]],
) -> dict[str, Mapping[str, str]]:
    _, kind, name = where
    issues, known = found
    answer = normalise_path.answer
    kept: dict[str, Mapping[str, str]] = {}
    for raw, named in sorted(artifacts.items()):
        path = answer(raw)
        if isinstance(path, PathEscape):
            message = f"{kind} `{name}` {role}: {path}"
            issues.append(Issue("path-escape", shown(raw), message, _evidence(where, role, raw)))
            continue
        digest = known.setdefault(path, named)
        if digest != named:
            digest = named
        if kept.setdefault(path, digest) != digest:
            message = f"{kind} `{name}` names {role} `{path}` twice with different digests"
            issues.append(Issue("conflicting-digest", path, message, _evidence(where, role, raw)))
    return kept


def _evidence(where: tuple[str, str, str], role: str, raw: str) -> tuple[Evidence, ...]:
    file, kind, name = where
    return (Evidence("file", file), Evidence(kind, name), Evidence(role, shown(raw)))
