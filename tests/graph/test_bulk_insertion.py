"""Attestations added in bulk make the graph that adding them one at a time makes.

The reference below adds each node and edge with its own networkx call, in the
order the model documents; the bulk insertion must give the same nodes (with
their attributes), edges (with keys and data), claims and flow, in the same
order, including for repeated paths, shared artifacts and hostile path names.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import datetime, timezone
from typing import Any

import networkx as nx
import pytest

from policy_engine.graph.model import (
    Artifact,
    Attestation,
    DigestClaim,
    EdgeKind,
    NodeKind,
    Principal,
    ProvenanceGraph,
    SignatureCheck,
    SignatureStatus,
    SourceRef,
    Step,
)


def _reference_add(graph: ProvenanceGraph, att: Attestation, source: SourceRef) -> None:
    """One attestation, one networkx call per node and edge (the documented order)."""
    g, node = graph.g, graph.attestation_id(att.file)
    g.add_node(node, kind=NodeKind.ATTESTATION, data=att)
    if graph.step_id(att.step_name) in g:
        g.add_edge(node, graph.step_id(att.step_name), key="attests", kind=EdgeKind.ATTESTS)
    sides = (
        (att.materials, EdgeKind.MATERIAL, f"link `{att.step_name}` material"),
        (att.products, EdgeKind.PRODUCT, f"link `{att.step_name}` product"),
        (att.subjects, EdgeKind.SUBJECT, f"statement `{att.predicate_type}` subject"),
    )
    for table, kind, what in sides:
        for path, digest in sorted(table.items()):
            artifact = graph.add_artifact(path)
            ref = SourceRef(source.file, source.line, what)
            u, v = (artifact, node) if kind is EdgeKind.MATERIAL else (node, artifact)
            g.add_edge(u, v, key=kind.value, kind=kind, digest=dict(digest), source=ref)
            for algorithm, value in sorted(digest.items()):
                g.nodes[artifact]["claims"].append(DigestClaim(algorithm, value, ref))
    for keyid in sorted(att.signers):
        principal = graph.principal_id(keyid)
        if principal not in g:
            g.add_node(principal, kind=NodeKind.PRINCIPAL, data=Principal(keyid, keyid))
        g.add_edge(principal, node, key="signed", kind=EdgeKind.SIGNED)


def _snapshot(graph: ProvenanceGraph) -> tuple[Any, ...]:
    g: nx.MultiDiGraph[str] = graph.g
    nodes = [(n, dict(attrs)) for n, attrs in g.nodes(data=True)]
    edges = list(g.edges(keys=True, data=True))
    predecessors = {n: list(g.predecessors(n)) for n in g}
    flow = (list(graph.flow.nodes), list(graph.flow.edges(data=True)))
    return nodes, edges, predecessors, flow


def _signed(*keyids: str) -> tuple[SignatureCheck, ...]:
    return tuple(SignatureCheck(k, SignatureStatus.VALID) for k in keyids)


def _attestations() -> list[tuple[Attestation, SourceRef]]:
    sha = {"sha256": "ab" * 32}
    both = {"sha256": "cd" * 32, "md5": "ef" * 16}
    links = [
        Attestation(
            "att/prepare.aaaa.link",
            "link",
            "metablock",
            "prepare",
            materials={"data/raw.csv": sha},
            products={"data/clean.csv": both, "data/b.csv": sha, "data/a.csv": {}},
            signatures=_signed("k2", "k1"),
        ),
        Attestation(  # the same step again, another signer, the same paths
            "att/prepare.bbbb.link",
            "link",
            "metablock",
            "prepare",
            materials={"data/raw.csv": sha},
            products={"data/clean.csv": both},
            signatures=(*_signed("k3"), SignatureCheck("k9", SignatureStatus.UNTRUSTED)),
        ),
        Attestation(  # a step no pipeline has: no ATTESTS edge
            "att/elsewhere.link",
            "link",
            "dsse",
            "elsewhere",
            materials={"data/clean.csv": {"sha256": "00" * 32}, "a b/ü\\x.bin": sha},
            products={"data/clean.csv": sha},
        ),
        Attestation(
            "att/bundle.jsonl#3",
            "statement",
            "dsse",
            predicate_type="https://slsa.dev/provenance/v1",
            subjects={"models/m.bin": both, "data/raw.csv": sha},
            signatures=_signed("k1"),
            issued_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        ),
    ]
    return [(att, SourceRef(att.file, 3 if "#" in att.file else None, "x")) for att in links]


def _graph() -> ProvenanceGraph:
    graph = ProvenanceGraph("/repo")
    graph.add_step(Step("prepare", SourceRef("dvc.yaml", 2)))
    graph.add_output("prepare", "data/clean.csv", {"md5": "ef" * 16}, SourceRef("dvc.lock", 9))
    return graph


def test_bulk_insertion_is_the_one_by_one_graph() -> None:
    reference, bulk = _graph(), _graph()
    for att, source in _attestations():
        _reference_add(reference, att, source)
    bulk.add_attestations(_attestations())
    assert _snapshot(bulk) == _snapshot(reference)


def test_bulk_in_batches_and_one_at_a_time_agree() -> None:
    """Batches of any size (one, two, all at once) give the same graph."""
    single, batched = _graph(), _graph()
    items = _attestations()
    for att, source in items:
        single.add_attestation(att, source)
    batched.add_attestations(items[:2])
    batched.add_attestations(items[2:])
    assert _snapshot(single) == _snapshot(batched)


def test_claims_follow_sources_in_order() -> None:
    graph = _graph()
    graph.add_attestations(_attestations())
    claims = [(c.algorithm, c.source.file) for c in graph.claims("data/clean.csv")]
    assert claims == [
        ("md5", "dvc.lock"),
        ("md5", "att/prepare.aaaa.link"),
        ("sha256", "att/prepare.aaaa.link"),
        ("md5", "att/prepare.bbbb.link"),
        ("sha256", "att/prepare.bbbb.link"),
        ("sha256", "att/elsewhere.link"),
        ("sha256", "att/elsewhere.link"),
    ]
    assert graph.g.nodes[graph.artifact_id("a b/ü\\x.bin")]["data"] == Artifact("a b/ü\\x.bin")


def test_empty_batch_adds_nothing() -> None:
    graph = _graph()
    before = _snapshot(graph)
    graph.add_attestations([])
    assert _snapshot(graph) == before


def test_a_digest_claim_keeps_its_fields_equality_hash_and_repr() -> None:
    source = SourceRef("dvc.lock", 3, "out")
    claim = DigestClaim("md5", "ab", source)
    assert (claim.algorithm, claim.value, claim.source) == ("md5", "ab", source)
    assert claim == DigestClaim(algorithm="md5", value="ab", source=source)
    assert claim != DigestClaim("md5", "ab", SourceRef("dvc.lock", 4, "out"))
    assert hash(claim) == hash(DigestClaim("md5", "ab", SourceRef("dvc.lock", 3, "out")))
    assert repr(claim) == f"DigestClaim(algorithm='md5', value='ab', source={source!r})"


@pytest.mark.parametrize(
    ("file", "line", "what"),
    [("a.link", None, "link `s` product"), ("b.jsonl", 3, ""), ("", 0, "x")],
)
def test_a_source_ref_made_at_once_is_the_dataclass_s(
    file: str, line: int | None, what: str
) -> None:
    made, reference = SourceRef.of(file, line, what), SourceRef(file, line, what)
    assert made == reference and hash(made) == hash(reference)
    assert (repr(made), str(made), vars(made)) == (repr(reference), str(reference), vars(reference))
    assert type(made) is SourceRef and fields(made) == fields(reference)
    with pytest.raises(FrozenInstanceError):
        made.line = 4  # type: ignore[misc]
