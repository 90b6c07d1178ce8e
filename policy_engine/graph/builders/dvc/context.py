"""What the readers of every DVC project under one repository root share.

Names and paths are the repository's, whichever project they come from: a
file is named by its path from the root, a stage of the root's own
``dvc.yaml`` keeps DVC's name (``train``, ``each@a``, ``grid@x-1``), and any
other stage gets DVC's address from the root (``sub/dvc.yaml:train``,
``projects/vision/dvc.yaml:evaluate@val_all``), so equally named stages of
different files or projects never collide.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from policy_engine.graph.builders.dvc.caches import CachedOutputs
from policy_engine.graph.builders.dvc.errors import relative
from policy_engine.graph.builders.dvc.ledger import OutputLedger
from policy_engine.graph.builders.dvc.lines import LineIndex
from policy_engine.graph.model import Evidence, Issue, ProvenanceGraph, SourceRef
from policy_engine.graph.paths import Normaliser

ROOT_PIPELINE = "dvc.yaml"


def address(dvcfile: str, stage: str) -> str:
    """The step name of ``stage`` of the repository's ``dvcfile`` (see the module doc)."""
    return stage if dvcfile == ROOT_PIPELINE else f"{dvcfile}:{stage}"


@dataclass
class Reading:
    """The graph being built, the repository root, and what is collected across projects."""

    graph: ProvenanceGraph
    root: Path
    lines: LineIndex = field(default_factory=LineIndex)
    ledger: OutputLedger = field(default_factory=OutputLedger)
    cache_repo: Path | None = None  # whose DVC cache holds missing outputs (None: root's)
    cached: CachedOutputs = field(default_factory=CachedOutputs)  # for the cache builder

    def __post_init__(self) -> None:
        self.root_dir = os.path.abspath(self.root)  # as DVC makes its paths absolute
        self._rel: dict[str, str] = {}
        self._bases: dict[str, str] = {}  # folder -> its repository path ("" for the root)
        self._normalise = Normaliser(self.root)  # each folder's symlinks looked up once

    def rel(self, path: str) -> str:
        """An absolute path DVC gave, relative to the repository root (posix)."""
        if path not in self._rel:
            self._rel[path] = relative(self.root_dir, path)
        return self._rel[path]

    def listed(self, listings: Mapping[str, dict[str, bool]]) -> None:
        """Take the listings of real folders made elsewhere (see :meth:`Normaliser.listed`)."""
        for folder, names in listings.items():
            self._normalise.listed(folder, names)

    def repo_path(self, raw: str, folder: str, declared: SourceRef, role: str) -> str | None:
        """``raw`` (relative to absolute ``folder``) as a repository path.

        None, and a ``path-escape`` issue, when it leaves the repository.
        Normalised once per (raw, folder): pipelines repeat their paths.
        """
        return self.repo_paths((raw,), folder, declared, role)[0]

    def repo_paths(
        self, raws: Iterable[str], folder: str, declared: SourceRef, role: str
    ) -> list[str | None]:
        """:meth:`repo_path` of each of ``raws``, all relative to ``folder``."""
        base = self._bases.get(folder)
        if base is None:
            rel = self.rel(folder)
            base = self._bases[folder] = "" if rel == "." else rel
        answer = self._normalise.answer
        found: list[str | None] = []
        for raw in raws:
            path = answer(raw, base)
            if isinstance(path, str):
                found.append(path)
            else:
                self._escaped(raw, path, declared, role)
                found.append(None)
        return found

    def _escaped(self, raw: str, escape: object, declared: SourceRef, role: str) -> None:
        """The ``path-escape`` issue of ``raw``, which ``escape`` (a PathEscape) refused."""
        message = f"DVC {role}: {escape}"
        evidence = (Evidence("declared in", str(declared)),)
        self.graph.issues.append(Issue("path-escape", raw, message, evidence))
