"""Confining artifact paths named by attestations to the repository.

Paths are normalised as :func:`policy_engine.graph.paths.normalise` does (by its
:class:`~policy_engine.graph.paths.Normaliser`, each folder resolved once); absolute
paths, ``..`` leaving the repository and symlinks resolving outside it are
``path-escape`` issues, and the path is left out of the attestation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy_engine.graph.model import Evidence, Issue
from policy_engine.graph.paths import Normaliser, PathEscape, shown

__all__ = ["Normaliser", "confined"]  # the normaliser's home is graph.paths


def confined(
    normalise_path: Normaliser,
    artifacts: Mapping[str, Any],
    where: tuple[str, str, str],
    role: str,
    issues: list[Issue],
) -> dict[str, dict[str, str]]:
    """Normalise the paths of ``artifacts`` (path -> digests) named in ``role`` of a document.

    ``where`` is (file, kind, name), e.g. ``("a.link", "link", "train")``. Escapes
    and paths named twice with different digests become ``issues``.
    """
    _, kind, name = where
    kept: dict[str, dict[str, str]] = {}
    for raw, named in sorted(artifacts.items()):
        digest = dict(named)
        try:
            path = normalise_path(raw)
        except PathEscape as exc:
            message = f"{kind} `{name}` {role}: {exc}"
            issues.append(Issue("path-escape", shown(raw), message, _evidence(where, role, raw)))
            continue
        if kept.setdefault(path, digest) != digest:
            message = f"{kind} `{name}` names {role} `{path}` twice with different digests"
            issues.append(Issue("conflicting-digest", path, message, _evidence(where, role, raw)))
    return kept


def _evidence(where: tuple[str, str, str], role: str, raw: str) -> tuple[Evidence, ...]:
    file, kind, name = where
    return (Evidence("file", file), Evidence(kind, name), Evidence(role, shown(raw)))
