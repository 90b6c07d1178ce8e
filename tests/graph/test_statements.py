"""In-toto Statements: subjects matched to artifacts, predicates kept, times read, SLSA lineage."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from attestation_kit import STATEMENT_V01, Identity, build, dsse, identity, statement, write_json

from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations.statements import MAX_PREDICATE_BYTES
from policy_engine.graph.model import EdgeKind, ProvenanceGraph
from policy_engine.keys import Keyring

SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"


def edges(graph: ProvenanceGraph, kind: EdgeKind) -> list[tuple[str, str, dict[str, Any]]]:
    """The edges of ``kind``, in the graph's order."""
    return [(u, v, d) for u, v, d in graph.g.edges(data=True) if d["kind"] is kind]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def alice(tmp_path_factory: pytest.TempPathFactory) -> Identity:
    from securesystemslib.signer import CryptoSigner

    return identity(CryptoSigner.generate_ed25519(), tmp_path_factory.mktemp("k"), "alice")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "data" / "train.csv").write_bytes(b"a,b\n1,2\n")
    (root / "models" / "model.pkl").write_bytes(b"weights")
    return root


def only(graph: ProvenanceGraph) -> object:
    (att,) = graph.attestations()
    return att


def subject(name: str | None, data: bytes | None = None, **digest: str) -> dict:
    entry: dict = {"digest": dict(digest) or {"sha256": sha256(data or b"")}}
    if name is not None:
        entry["name"] = name
    return entry


# -- subjects -----------------------------------------------------------------------------
def test_subject_matched_by_name_to_a_repository_path(repo: Path) -> None:
    document = statement([subject("./models//model.pkl", b"weights")])
    graph = build(repo, Keyring({}), write_json(repo / "att" / "s.json", document))
    att = only(graph)
    assert att.subjects == {  # type: ignore[attr-defined]
        "models/model.pkl": {
            "sha256": sha256(b"weights"),
            "md5": hashlib.md5(b"weights").hexdigest(),
        }
    }
    node = graph.attestation_id("att/s.json")
    subject_edges = [(u, v) for u, v, _ in edges(graph, EdgeKind.SUBJECT)]
    assert subject_edges == [(node, "artifact:models/model.pkl")]
    assert graph.notes == []


def test_subjects_that_are_not_paths_here_are_matched_by_digest(repo: Path) -> None:
    known = statement(
        [subject("models/model.pkl", b"weights"), subject("data/train.csv", b"a,b\n1,2\n")]
    )
    document = statement(
        [
            subject("registry.example.com/team/model", b"weights"),  # relative, but not here
            subject("_", b"a,b\n1,2\n"),  # "no meaningful name"
            subject(None, md5=hashlib.md5(b"weights").hexdigest()),
            subject("pkg:pypi/model@1.0", b"weights"),  # a URI
            subject("/mnt/build/model.pkl", b"weights"),  # absolute: an identifier
        ]
    )
    first = write_json(repo / "att" / "known.json", known)
    graph = build(repo, Keyring({}), first, write_json(repo / "att" / "s.json", document))
    att = {a.file: a for a in graph.attestations()}["att/s.json"]
    assert sorted(att.subjects) == ["data/train.csv", "models/model.pkl"]
    assert graph.notes == []


def test_digest_matching_uses_the_workspace_digests_of_known_artifacts(
    repo: Path, alice: Identity
) -> None:
    # The model is known (another statement names it by path); a second statement, about
    # "the same bytes" under a build-system name, is matched to it by digest.
    by_name = dsse(statement([subject("models/model.pkl", b"weights")]), [alice])
    by_digest = dsse(statement([subject("out/model-final.bin", b"weights")]), [alice])
    write_json(repo / "att" / "a.json", by_name)
    write_json(repo / "att" / "b.json", by_digest)
    graph = build(repo, Keyring({"alice": alice.public}), repo / "att")
    atts = {a.file: a for a in graph.attestations()}
    assert list(atts["att/b.json"].subjects) == ["models/model.pkl"]
    assert atts["att/b.json"].signers == {alice.keyid}


def test_unmatched_subjects_are_noted_and_left_out(repo: Path) -> None:
    document = statement([subject("helloworld", b"not here"), subject("pkg:npm/x@1", b"y")])
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    assert only(graph).subjects == {}  # type: ignore[attr-defined]
    assert graph.notes == [
        "s.json: subject `helloworld` matches no artifact (by name or digest)",
        "s.json: subject `pkg:npm/x@1` matches no artifact (by name or digest)",
    ]
    assert not any(n.startswith("artifact:helloworld") for n in graph.g.nodes)


def test_a_subject_name_leaving_the_repository_is_a_path_escape(repo: Path) -> None:
    document = statement([subject("../secret.key", b"x")])
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    assert [(i.code, i.subject) for i in graph.issues] == [("path-escape", "../secret.key")]


def test_a_symlinked_subject_leaving_the_repository_is_a_path_escape(
    repo: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside.bin").write_bytes(b"x")
    os.symlink(tmp_path / "outside.bin", repo / "models" / "link.bin")
    document = statement([subject("models/link.bin", b"x")])
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    assert [i.code for i in graph.issues] == ["path-escape"]
    assert only(graph).subjects == {}  # type: ignore[attr-defined]


def test_a_stale_subject_digest_is_a_claim_that_disagrees(repo: Path) -> None:
    document = statement([subject("models/model.pkl", b"old weights")])
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    claims = {(c.algorithm, c.value) for c in graph.claims("models/model.pkl")}
    assert claims == {("sha256", sha256(b"old weights"))}  # not completed: bytes differ
    assert graph.workspace("models/model.pkl").sha256 == sha256(b"weights")  # type: ignore[union-attr]


# -- predicates and time ------------------------------------------------------------------------
def test_predicate_is_kept_and_bounded(repo: Path) -> None:
    big = "x" * (MAX_PREDICATE_BYTES + 1)
    document = statement(
        [subject("models/model.pkl", b"weights")],
        "https://in-toto.io/attestation/test-result/v0.1",
        {"result": "PASSED", "log": big, "createdAt": "2025-03-04T05:06:07Z"},
    )
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    att = only(graph)
    assert att.predicate_type == "https://in-toto.io/attestation/test-result/v0.1"  # type: ignore[attr-defined]
    assert att.predicate == {"result": "PASSED", "createdAt": "2025-03-04T05:06:07Z"}  # type: ignore[attr-defined]
    assert att.issued_at == datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)  # type: ignore[attr-defined]
    assert any("`log` not kept" in n for n in graph.notes)


@pytest.mark.parametrize(
    ("predicate_type", "predicate", "expected"),
    [
        (
            SLSA_V02,
            {
                "builder": {"id": "b"},
                "metadata": {
                    "buildFinishedOn": "2024-01-02T03:04:05Z",
                    "buildStartedOn": "2024-01-01T00:00:00Z",
                },
            },
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        ),
        (
            SLSA_V1,
            {
                "buildDefinition": {"buildType": "t"},
                "runDetails": {
                    "builder": {"id": "b"},
                    "metadata": {"finishedOn": None, "startedOn": "2022-05-24T12:13:35.054695403Z"},
                },
            },
            datetime(2022, 5, 24, 12, 13, 35, 54695, tzinfo=timezone.utc),
        ),
        (
            "https://x/v1",
            {"timestamp": "2023-01-19T02:36:03.290252574-06:00"},
            datetime(2023, 1, 19, 8, 36, 3, 290252, tzinfo=timezone.utc),
        ),
        (
            "https://x/v1",
            {"timeCreated": "1985-04-12T23:20:50.52Z"},
            datetime(1985, 4, 12, 23, 20, 50, 520000, tzinfo=timezone.utc),
        ),
        (
            "https://x/v1",
            {"createdAt": "2025-01-01T00:00:00"},
            datetime(2025, 1, 1, tzinfo=timezone.utc),
        ),
        ("https://x/v1", {"when": "2025-01-01T00:00:00Z"}, None),
    ],
)
def test_issue_time_from_well_known_fields(
    repo: Path, predicate_type: str, predicate: dict, expected: datetime | None
) -> None:
    document = statement([subject("models/model.pkl", b"weights")], predicate_type, predicate)
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    assert only(graph).issued_at == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["yesterday", 1700000000, "2025-13-01T00:00:00Z"])
def test_an_unreadable_time_fails_closed(repo: Path, value: object) -> None:
    document = statement(
        [subject("models/model.pkl", b"weights")], "https://x/v1", {"timestamp": value}
    )
    with pytest.raises(InputError, match=r"`predicate\.timestamp`") as info:
        build(repo, Keyring({}), write_json(repo / "s.json", document))
    assert info.value.location == "s.json"


def test_statement_v01_needs_named_subjects(repo: Path) -> None:
    document = statement([subject("models/model.pkl", b"weights")], kind=STATEMENT_V01)
    assert only(build(repo, Keyring({}), write_json(repo / "a.json", document))).subjects  # type: ignore[attr-defined]


# -- SLSA provenance as lineage ---------------------------------------------------------
def slsa_v02(materials: list[dict]) -> dict:
    return {
        "builder": {"id": "https://ci.example.com/runner@v1"},
        "buildType": "https://ci.example.com/train@v1",
        "materials": materials,
        "metadata": {"buildInvocationId": "run-42"},
    }


def slsa_v1(dependencies: list[dict]) -> dict:
    return {
        "buildDefinition": {
            "buildType": "https://ci.example.com/train@v2",
            "resolvedDependencies": dependencies,
        },
        "runDetails": {"builder": {"id": "https://ci.example.com/runner@v2"}},
    }


def test_slsa_v02_materials_and_subjects_become_a_step(repo: Path, alice: Identity) -> None:
    materials = [
        {"uri": "data/train.csv", "digest": {"sha256": sha256(b"a,b\n1,2\n")}},
        {"uri": "git+https://github.com/org/repo@main", "digest": {"sha1": "ab" * 20}},
    ]
    document = dsse(
        statement([subject("models/model.pkl", b"weights")], SLSA_V02, slsa_v02(materials)), [alice]
    )
    graph = build(
        repo, Keyring({"alice": alice.public}), write_json(repo / "att" / "prov.json", document)
    )
    step = graph.g.nodes["step:slsa:att/prov.json"]["data"]
    assert dict(step.meta) == {
        "source": "slsa",
        "predicate_type": SLSA_V02,
        "builder_id": "https://ci.example.com/runner@v1",
        "build_type": "https://ci.example.com/train@v1",
        "invocation_id": "run-42",
    }
    inputs = [(u, d["digest"]) for u, v, d in edges(graph, EdgeKind.INPUT)]
    outputs = [(v, d["digest"]) for u, v, d in edges(graph, EdgeKind.OUTPUT)]
    md5 = hashlib.md5(b"a,b\n1,2\n").hexdigest()
    assert inputs == [("artifact:data/train.csv", {"sha256": sha256(b"a,b\n1,2\n"), "md5": md5})]
    assert [o for o, _ in outputs] == ["artifact:models/model.pkl"]
    att = only(graph)
    assert att.step_name == "slsa:att/prov.json"  # type: ignore[attr-defined]
    attesting = [a.file for a in graph.attestations() if a.step_name == "slsa:att/prov.json"]
    assert attesting == ["att/prov.json"]
    assert any("git+https://github.com/org/repo@main" in n for n in graph.notes)


def test_slsa_v1_dependency_matched_by_digest(repo: Path, alice: Identity) -> None:
    dependencies = [{"name": "training-data", "digest": {"sha256": sha256(b"a,b\n1,2\n")}}]
    document = dsse(
        statement([subject("models/model.pkl", b"weights")], SLSA_V1, slsa_v1(dependencies)),
        [alice],
    )
    first = write_json(
        repo / "att" / "data.json", statement([subject("data/train.csv", b"a,b\n1,2\n")])
    )
    keyring = Keyring({"alice": alice.public})
    graph = build(repo, keyring, first, write_json(repo / "att" / "prov.json", document))
    inputs = sorted(u for u, v, _ in edges(graph, EdgeKind.INPUT))
    assert inputs == ["artifact:data/train.csv"]
    assert (
        graph.g.nodes["step:slsa:att/prov.json"]["data"].meta["build_type"]
        == "https://ci.example.com/train@v2"
    )


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "untrusted-signer"])
def test_slsa_no_trusted_key_verifies_adds_no_lineage(
    repo: Path, alice: Identity, signed: bool
) -> None:
    """Anyone can write provenance: unverified, it must not bridge a broken chain."""
    dependencies = [{"name": "data/train.csv", "digest": {"sha256": sha256(b"a,b\n1,2\n")}}]
    document = statement([subject("models/model.pkl", b"weights")], SLSA_V1, slsa_v1(dependencies))
    path = write_json(repo / "prov.json", dsse(document, [alice]) if signed else document)
    graph = build(repo, Keyring({}), path)
    assert list(graph.steps()) == [] and list(edges(graph, EdgeKind.INPUT)) == []
    assert "prov.json: SLSA provenance no trusted key verifies; no lineage was added" in graph.notes


@pytest.mark.parametrize(
    "predicate_type",
    [
        "https://slsa.dev/provenance/v1?draft",
        "https://slsa.dev/provenance/v1-rc1",
        "https://slsa.dev/provenance/v0.1",
    ],
)
def test_pre_final_slsa_is_evidence_only(repo: Path, predicate_type: str) -> None:
    document = statement([subject("models/model.pkl", b"weights")], predicate_type, slsa_v1([]))
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    assert [s.name for s in graph.steps()] == []
    assert only(graph).predicate_type == predicate_type  # type: ignore[attr-defined]


def test_slsa_without_a_matching_subject_adds_no_step(repo: Path) -> None:
    document = statement([subject("elsewhere.bin", b"?")], SLSA_V02, slsa_v02([]))
    graph = build(repo, Keyring({}), write_json(repo / "s.json", document))
    assert list(graph.steps()) == []
    assert "s.json: no subject is an artifact here; no lineage was added" in graph.notes


def test_slsa_without_a_builder_fails_closed(repo: Path) -> None:
    document = statement([subject("models/model.pkl", b"weights")], SLSA_V02, {"buildType": "t"})
    with pytest.raises(InputError, match=r"invalid SLSA provenance: `builder`: field required"):
        build(repo, Keyring({}), write_json(repo / "s.json", document))
