"""Matching the resources a statement names (subjects, SLSA dependencies) to artifacts.

In this order, the first that matches wins:

1. **by name**: the resource's ``name`` (``_`` means no name), else its ``uri``
   when it has no scheme, normalised to a repository path, when that path is
   an artifact the graph already knows or a file or folder that exists in the
   repository. Names with a URI scheme (``pkg:``, ``git+https:``, ``oci:``…)
   or absolute paths are identifiers, not repository paths; a relative name
   that leaves the repository (``..``, a symlink) is a ``path-escape`` issue.
2. **by digest**: every known artifact whose workspace digest (``sha256``, or
   ``md5``) equals one the resource states.

Name matching runs while attestations are read (so the artifacts it adds are
hashed with the others); digest matching runs after the workspace is hashed.
A resource that matches nothing is noted and left out. When a resource's digest
equals the workspace digest of the artifact it matched, the workspace's other
digests are added to what the edge records (same bytes, so the same digests):
DVC's ``md5`` and SLSA's ``sha256`` can then be compared along lineage.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from policy_engine.graph.builders.attestations.confine import Normaliser
from policy_engine.graph.builders.attestations.resources import Resource
from policy_engine.graph.model import Evidence, Issue, ProvenanceGraph, WorkspaceFile
from policy_engine.graph.paths import PathEscape

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
WORKSPACE_ALGORITHMS = ("sha256", "md5")


def path_like(text: str) -> bool:
    """Whether ``text`` could be a repository path: not empty, ``_``, a URI or absolute."""
    return bool(text) and text != "_" and not _SCHEME.match(text) and not text.startswith("/")


class Resolver:
    """Matches resources to artifact paths for one build (see the module docstring)."""

    def __init__(self, graph: ProvenanceGraph, root: Path) -> None:
        self.graph = graph
        self.root = root
        self.normalise = Normaliser(root)
        self._index: dict[tuple[str, str], list[str]] | None = None

    def by_name(
        self, resource: Resource, where: tuple[str, str], issues: list[Issue]
    ) -> str | None:
        """The artifact path the resource names, if any; ``where`` is (file, role)."""
        for text in (resource.name, resource.uri):
            if not path_like(text):
                continue
            try:
                path = self.normalise(text)
            except PathEscape as exc:
                file, role = where
                evidence = (Evidence("file", file), Evidence(role, text))
                issues.append(Issue("path-escape", text, f"statement {role}: {exc}", evidence))
                return None
            if path != "." and self._exists(path):
                return path
        return None

    def _exists(self, path: str) -> bool:
        if self.graph.artifact_id(path) in self.graph.g:
            return True
        return os.path.lexists(os.path.join(self.root, path))

    def by_digest(self, digest: Mapping[str, str]) -> list[str]:
        """Known artifacts whose workspace digest is one of ``digest``, sorted."""
        index = self._digest_index()
        found: set[str] = set()
        for algorithm in WORKSPACE_ALGORITHMS:
            value = digest.get(algorithm)
            if value:
                found.update(index.get((algorithm, value.lower()), ()))
        return sorted(found)

    def _digest_index(self) -> dict[tuple[str, str], list[str]]:
        if self._index is None:
            self._index = {}
            for artifact in self.graph.artifacts():
                current = self.graph.workspace(artifact.path)
                if current is not None:
                    for algorithm in WORKSPACE_ALGORITHMS:
                        key = (algorithm, current.digest(algorithm) or "")
                        self._index.setdefault(key, []).append(artifact.path)
        return self._index

    def completed(self, path: str, digest: Mapping[str, str]) -> dict[str, str]:
        """``digest``, plus the workspace's digests of ``path`` when one of them agrees."""
        current: WorkspaceFile | None = self.graph.workspace(path)
        result = dict(digest)
        if current is None:
            return result
        ours = {a: current.digest(a) for a in WORKSPACE_ALGORITHMS}
        if any(digest.get(a) and digest[a].lower() == v for a, v in ours.items()):
            result.update({a: v for a, v in ours.items() if v and a not in result})
        return result
