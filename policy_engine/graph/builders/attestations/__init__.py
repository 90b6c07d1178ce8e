"""Attestations: in-toto links and layouts, in-toto Statements, DSSE and sigstore envelopes.

One entry point reads every file under the attestation paths and dispatches by
content, not by name, so ``--attestations`` takes any of these:

* in-toto **links**: classic signed JSON (Metablock) or DSSE envelopes;
* in-toto **layouts**, classic or DSSE, including a sublayout stored as a link
  (``<step>.<keyid8>.link``): typed facts (``graph.layouts``), never executed;
* in-toto **Statements** v0.1 and v1: plain (unsigned), in a DSSE envelope, in
  a sigstore bundle's ``dsseEnvelope``, or one per line in a JSON-Lines bundle
  (``*.intoto.jsonl``); SLSA provenance v0.2 and v1 also become lineage.

Directories are searched recursively for files ending in ``.link``, ``.layout``,
``.json``, ``.jsonl`` (so ``.intoto.jsonl``) and ``.dsse``; hidden folders are
not entered. A file named explicitly is read whatever its name.

What is skipped, what fails closed: see :mod:`.dispatch` and :mod:`.envelopes`;
signatures: :mod:`.signatures` (GPG signatures by a policy's GPG keys); statements and
timestamps: :mod:`.statements`; subject matching: :mod:`.subjects`; SLSA lineage:
:mod:`.builder` and :mod:`.slsa`; layouts: :mod:`.layouts`, :mod:`.thresholds`,
:mod:`.trust` (owners, delegation); link file names: :mod:`.linknames`.

in-toto, securesystemslib and pydantic are imported only when a file is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext
    from policy_engine.graph.model import ProvenanceGraph

SEARCH_SUFFIXES = (".link", ".layout", ".json", ".jsonl", ".dsse")


def build_attestations(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Read every attestation (before the workspace builder); see :mod:`.builder`."""
    from policy_engine.graph.builders.attestations.builder import build_attestations as build

    build(graph, context)


@contextmanager
def reading_started(context: BuildContext) -> Iterator[BuildContext]:
    """``context`` with its attestations' reading started (``started``), stopped on exit
    whatever happens (the reading processes reaped); see :func:`.builder.start_reading`."""
    from policy_engine.graph.builders.attestations.builder import start_reading

    started = start_reading(context, background=True)  # the other builders run meanwhile
    try:
        yield replace(context, started=started)
    finally:
        started.close()


def add_statements(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Add the statements, matched by name and digest (after the workspace builder)."""
    from policy_engine.graph.builders.attestations.builder import add_statements as add

    add(graph, context)


__all__ = ["SEARCH_SUFFIXES", "add_statements", "build_attestations", "reading_started"]
