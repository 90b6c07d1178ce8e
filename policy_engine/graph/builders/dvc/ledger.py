"""Who claims to produce each output: duplicate claims, and paths inside directory outputs.

Every output of every DVC file of every project is recorded here as it is
added: a pipeline stage's, a ``.dvc`` file's, and a stale lock entry's (one
whose stage ``dvc.yaml`` no longer defines). When all projects are read:

* a path claimed by two or more of them is a ``duplicate-output`` issue: which
  one produced its bytes is ambiguous (DVC itself refuses two stages with one
  output; a stale entry claiming a live stage's output is how a renamed stage
  or a ``foreach`` conversion shows in a lock);
* an artifact that nothing produces, that no ``.dvc`` file declares, and that
  lies inside a stage's output (a file consumed from a directory output) is
  produced by that stage: an OUTPUT edge without digest (the ``.dir`` manifest,
  when the cache has it, already gave the files it lists their own edges with
  their md5), so lineage reaches it, and says its bytes were never recorded.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from policy_engine.graph.bulk import adjacency, node_attributes
from policy_engine.graph.model import Evidence, Issue, NodeKind, ProvenanceGraph, SourceRef

STAGE, SOURCE, STALE = "stage", "source", "stale"
_LABELS = {STAGE: "stage", SOURCE: "DVC file", STALE: "stale lock entry"}
ARTIFACT = NodeKind.ARTIFACT


class OutputClaim(NamedTuple):
    """``claimer`` (a step, a ``.dvc`` file or a stale lock entry) says it produces ``path``.

    A named tuple, as :class:`~policy_engine.graph.model.DigestClaim`: one per output.
    """

    path: str
    claimer: str
    kind: str  # STAGE, SOURCE or STALE
    digest: Mapping[str, str]
    source: SourceRef


class OutputLedger:
    """The output claims of all DVC files read so far, by repository path."""

    def __init__(self) -> None:
        self._claims: dict[str, list[OutputClaim]] = {}

    def add(self, claim: OutputClaim) -> None:
        self._claims.setdefault(claim.path, []).append(claim)

    def duplicates(self) -> Iterator[Issue]:
        """One ``duplicate-output`` issue per path claimed more than once."""
        for path in sorted(path for path, claims in self._claims.items() if len(claims) > 1):
            yield _duplicate(path, self._claims[path])

    def link_contained(self, graph: ProvenanceGraph) -> None:
        """Give each unproduced, undeclared artifact inside a stage's output that producer."""
        _, producers = adjacency(graph.flow)  # links add only edges into the artifact linked
        unproduced = [  # read off the graph's own dicts, as graph.artifacts() and .origin()
            attrs["data"].path
            for node, attrs in node_attributes(graph.g).items()
            if attrs["kind"] is ARTIFACT and not producers[node] and attrs.get("origin") is None
        ]
        for path in sorted(unproduced):
            holder = self._holder(path)
            node = graph.artifact_id(path)
            if holder is None or graph.flow.has_edge(node, graph.step_id(holder.claimer)):
                continue  # nothing holds it, or its holder reads it (not a product of it)
            what = f"{holder.source.what} `{holder.path}`, which holds it"
            source = SourceRef(holder.source.file, holder.source.line, what)
            graph.add_output(holder.claimer, path, {}, source)

    def _holder(self, path: str) -> OutputClaim | None:
        """The closest output containing ``path``, if it is one stage's alone."""
        parent = posixpath.dirname(path)
        while parent:
            claims = self._claims.get(parent)
            if claims:
                stages = [claim for claim in claims if claim.kind == STAGE]
                return stages[0] if len(claims) == 1 and stages else None
            parent = posixpath.dirname(parent)
        return None


def _duplicate(path: str, claims: list[OutputClaim]) -> Issue:
    names = ", ".join(f"`{claim.claimer}`" for claim in claims)
    message = (
        f"`{path}` is claimed as an output by {len(claims)} entries ({names}): "
        "which one produced its bytes is ambiguous"
    )
    evidence = tuple(
        Evidence(
            f"{_LABELS[claim.kind]} `{claim.claimer}`",
            ", ".join(f"{a}:{v}" for a, v in sorted(claim.digest.items())) or "no digest",
            str(claim.source),
        )
        for claim in claims
    )
    return Issue("duplicate-output", path, message, evidence)
