"""Tests for the in-toto link builder, with links made and signed by in-toto's own API."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from in_toto.models.layout import Layout
from in_toto.models.link import Link
from in_toto.models.metadata import Envelope, Metablock
from securesystemslib.signer import CryptoSigner, SSlibKey

from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.attestations import add_statements, build_attestations
from policy_engine.graph.model import (
    EdgeKind,
    ProvenanceGraph,
    SignatureStatus,
    SourceRef,
    Step,
)
from policy_engine.inputs import MAX_INPUT_BYTES, MAX_JSON_DEPTH
from policy_engine.keys import Keyring, PublicKey, load_public_key

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
DEMO = CORPUS / "in-toto" / "tests"

SRC_SHA = "a" * 64
OUT_SHA = "b" * 64


def edges(graph: ProvenanceGraph, kind: EdgeKind) -> list[tuple[str, str, dict[str, Any]]]:
    """The edges of ``kind``, in the graph's order."""
    return [(u, v, d) for u, v, d in graph.g.edges(data=True) if d["kind"] is kind]


@dataclass(frozen=True)
class Identity:
    """A signer and its public key as the engine loads it (ids computed from the PEM)."""

    signer: CryptoSigner
    public: PublicKey


def _identity(signer: CryptoSigner, folder: Path, name: str) -> Identity:
    private = load_pem_private_key(signer.private_bytes, None)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    path = folder / f"{name}.pub"
    path.write_bytes(pem)
    return Identity(signer, load_public_key(path))


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Identity]:
    folder = tmp_path_factory.mktemp("keys")
    return {
        "alice": _identity(CryptoSigner.generate_ed25519(), folder, "alice"),
        "carol": _identity(CryptoSigner.generate_ecdsa(), folder, "carol"),
        "mallory": _identity(CryptoSigner.generate_ed25519(), folder, "mallory"),
    }


@pytest.fixture(scope="module")
def keyring(ids: dict[str, Identity]) -> Keyring:
    """Trusts alice and carol, not mallory."""
    return Keyring({name: ids[name].public for name in ("alice", "carol")})


def alias_signer(identity: Identity) -> CryptoSigner:
    """The same private key, signing under a legacy (alias) key id of the same key."""
    alias = sorted(identity.public.aliases)[0]
    key = identity.signer.public_key
    private = load_pem_private_key(identity.signer.private_bytes, None)
    return CryptoSigner(private, SSlibKey(alias, key.keytype, key.scheme, dict(key.keyval)))


def make_link(products: dict[str, str] | None = None) -> Link:
    products = {"model/model.pkl": OUT_SHA} if products is None else products
    return Link(
        name="train",
        command=["python", "train.py", "--epochs", "3"],
        materials={"src/train.py": {"sha256": SRC_SHA}},
        products={path: {"sha256": digest} for path, digest in products.items()},
    )


def write_link(path: Path, link: Link, envelope: str, signers: list[CryptoSigner]) -> Path:
    """Sign ``link`` as a classic Metablock or a DSSE Envelope and write it to ``path``."""
    metadata = Metablock(signed=link) if envelope == "metablock" else Envelope.from_signable(link)
    for signer in signers:
        metadata.create_signature(signer)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata.dump(str(path))
    return path


def build(root: Path, keyring: Keyring, *paths: Path) -> ProvenanceGraph:
    graph = ProvenanceGraph(str(root))
    context = BuildContext(root, keyring, tuple(paths))
    build_attestations(graph, context)
    add_statements(graph, context)
    return graph


def only_attestation(graph: ProvenanceGraph) -> Any:
    (attestation,) = list(graph.attestations())
    return attestation


ENVELOPES = ["metablock", "dsse"]


# -- signatures -----------------------------------------------------------------------
@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("signer_name", ["alice", "carol"])
def test_valid_link_verifies_with_primary_key_id(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, envelope: str, signer_name: str
) -> None:
    me = ids[signer_name]
    path = write_link(tmp_path / "links" / "train.link", make_link(), envelope, [me.signer])
    graph = build(tmp_path, keyring, tmp_path / "links")
    att = only_attestation(graph)
    assert (att.file, att.kind, att.envelope, att.step_name) == (
        "links/train.link",
        "link",
        envelope,
        "train",
    )
    assert att.command == ("python", "train.py", "--epochs", "3")
    assert [(s.keyid, s.status) for s in att.signatures] == [
        (me.public.keyid, SignatureStatus.VALID)
    ]
    assert att.signers == frozenset({me.public.keyid})
    assert graph.issues == []
    principal = graph.principal_id(me.public.keyid)
    assert graph.g.has_edge(principal, graph.attestation_id("links/train.link"), "signed")
    assert path.exists()


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_payload_modified_after_signing_is_invalid(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, envelope: str
) -> None:
    path = write_link(tmp_path / "train.link", make_link(), envelope, [ids["alice"].signer])
    document = json.loads(path.read_text())
    if envelope == "metablock":
        document["signed"]["products"]["model/model.pkl"]["sha256"] = "c" * 64
    else:
        payload = json.loads(base64.b64decode(document["payload"]))
        payload["products"]["model/model.pkl"]["sha256"] = "c" * 64
        document["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    path.write_text(json.dumps(document))

    graph = build(tmp_path, keyring, path)
    att = only_attestation(graph)
    claimed = ids["alice"].signer.public_key.keyid
    assert [(s.keyid, s.status) for s in att.signatures] == [(claimed, SignatureStatus.INVALID)]
    assert att.signers == frozenset()
    assert att.products == {"model/model.pkl": {"sha256": "c" * 64}}
    (issue,) = graph.issues
    assert (issue.code, issue.subject) == ("bad-signature", "train.link")
    evidence = {e.label: e.value for e in issue.evidence}
    assert evidence["file"] == "train.link"
    assert evidence["claimed keyid"] == claimed
    assert not any(d["kind"] is EdgeKind.SIGNED for _, _, d in graph.g.edges(data=True))


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_unknown_key_is_untrusted_and_not_an_issue(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, envelope: str
) -> None:
    signers = [ids["mallory"].signer, ids["alice"].signer]
    path = write_link(tmp_path / "train.link", make_link(), envelope, signers)
    att = only_attestation(graph := build(tmp_path, keyring, path))
    statuses = {s.keyid: s.status for s in att.signatures}
    assert statuses == {
        ids["mallory"].signer.public_key.keyid: SignatureStatus.UNTRUSTED,
        ids["alice"].public.keyid: SignatureStatus.VALID,
    }
    assert att.signers == frozenset({ids["alice"].public.keyid})
    assert graph.issues == []


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_signatures_by_one_key_count_once(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, envelope: str
) -> None:
    alice = ids["alice"]
    alias = alias_signer(alice)
    assert alias.public_key.keyid != alice.signer.public_key.keyid
    # DSSE keeps one signature per key id; a Metablock may repeat the same key id.
    signers = [alice.signer, alias] + ([alice.signer] if envelope == "metablock" else [])
    path = write_link(tmp_path / "train.link", make_link(), envelope, signers)
    att = only_attestation(build(tmp_path, keyring, path))
    assert len(att.signatures) == len(signers)
    assert all(s.status is SignatureStatus.VALID for s in att.signatures)
    assert att.signers == frozenset({alice.public.keyid})


# -- materials, products and paths ------------------------------------------------------
def test_materials_and_products_become_edges_with_digests(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    write_link(tmp_path / "links" / "train.link", make_link(), "dsse", [ids["alice"].signer])
    graph = ProvenanceGraph(str(tmp_path))
    graph.add_step(Step("train", SourceRef("dvc.yaml", 3)))
    context = BuildContext(tmp_path, keyring, (tmp_path / "links",))
    build_attestations(graph, context)
    add_statements(graph, context)
    node = graph.attestation_id("links/train.link")
    materials = [(u, d["digest"]) for u, v, d in edges(graph, EdgeKind.MATERIAL) if v == node]
    products = [(v, d["digest"]) for u, v, d in edges(graph, EdgeKind.PRODUCT) if u == node]
    assert materials == [("artifact:src/train.py", {"sha256": SRC_SHA})]
    assert products == [("artifact:model/model.pkl", {"sha256": OUT_SHA})]
    assert [(c.algorithm, c.value) for c in graph.claims("model/model.pkl")] == [
        ("sha256", OUT_SHA)
    ]
    assert graph.claims("model/model.pkl")[0].source.file == "links/train.link"
    assert [a.step_name for a in graph.attestations() if a.step_name == "train"] == ["train"]


def test_paths_are_normalised_and_escapes_are_issues(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    products = {"./model//model.pkl": OUT_SHA, "../escape": "d" * 64, "/etc/passwd": "e" * 64}
    link = make_link(products)
    path = write_link(tmp_path / "train.link", link, "metablock", [ids["alice"].signer])
    graph = build(tmp_path, keyring, path)
    att = only_attestation(graph)
    assert att.products == {"model/model.pkl": {"sha256": OUT_SHA}}
    escapes = sorted(i.subject for i in graph.issues if i.code == "path-escape")
    assert escapes == ["../escape", "/etc/passwd"]
    assert len(graph.issues) == 2
    assert all(graph.artifact_id("../escape") != n for n in graph.g.nodes)
    assert att.signers == frozenset({ids["alice"].public.keyid})


def test_directory_is_searched_recursively_for_link_files(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    signer = [ids["alice"].signer]
    write_link(tmp_path / "att" / "a" / "train.1.link", make_link(), "metablock", signer)
    write_link(tmp_path / "att" / "b" / "c" / "train.2.link", make_link(), "dsse", signer)
    (tmp_path / "att" / "notes.txt").write_text("not searched, not even JSON")
    (tmp_path / "att" / "config.json").write_text('{"learning_rate": 3}')
    direct = write_link(tmp_path / "att" / "a" / "train.1.link", make_link(), "metablock", signer)
    graph = build(tmp_path, keyring, tmp_path / "att", direct)
    assert sorted(a.file for a in graph.attestations()) == [
        "att/a/train.1.link",
        "att/b/c/train.2.link",
    ]
    assert graph.notes == [
        "att/config.json: skipped, not an attestation: no in-toto, DSSE or sigstore field"
    ]


def test_link_outside_root_keeps_the_path_as_given(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    outside = write_link(tmp_path / "elsewhere" / "train.link", make_link(), "dsse", [])
    att = only_attestation(build(root, keyring, outside))
    assert att.file == str(outside)
    assert att.signatures == ()


# -- inputs the engine cannot judge ------------------------------------------------------
def test_malformed_json_names_file_line_and_column(tmp_path: Path, keyring: Keyring) -> None:
    bad = tmp_path / "bad.link"
    bad.write_text('{\n  "signed": {,\n}')
    with pytest.raises(InputError) as info:
        build(tmp_path, keyring, tmp_path)
    assert info.value.location == "bad.link:2:14"  # the comma
    assert "invalid JSON" in info.value.message


def test_missing_attestation_path(tmp_path: Path, keyring: Keyring) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(InputError, match="attestation path not found") as info:
        build(tmp_path, keyring, missing)
    assert info.value.location == str(missing)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"signed": {"_type": "root"}, "signatures": []}, "unsupported signed in-toto `_type`"),
        (
            {"payloadType": "application/json", "payload": "e30=", "signatures": []},
            "not an attestation: a DSSE envelope of `application/json`",
        ),
        ([1, 2, 3], "not an attestation: a JSON list"),
        ({"signed": {"_type": "link"}, "payload": "e30="}, "both `signed` and `payload`"),
        ({"signed": {"_type": "link", "name": "x"}, "signatures": "abc"}, "must be a list"),
        ({"signed": {"_type": "link", "materials": []}, "signatures": []}, "invalid in-toto link"),
        ({"_type": "link", "name": "x"}, "must be signed JSON"),
        (
            {
                "payloadType": "application/vnd.in-toto+json",
                "payload": base64.b64encode(
                    b'{"_type": "https://in-toto.io/Statement/v1"}'
                ).decode(),
                "signatures": [],
            },
            "invalid in-toto Statement: `subject`: field required",
        ),
    ],
)
def test_documents_that_are_not_attestations_fail_closed(
    tmp_path: Path, keyring: Keyring, document: Any, expected: str
) -> None:
    path = tmp_path / "x.link"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as info:
        build(tmp_path, keyring, path)
    assert expected in info.value.message
    assert info.value.location == "x.link"


def test_a_layout_is_a_layout_fact_not_a_link(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    metadata = Metablock(signed=Layout(expires="2030-01-01T00:00:00Z"))
    metadata.create_signature(ids["alice"].signer)
    metadata.dump(str(tmp_path / "root.layout"))
    graph = build(tmp_path, keyring, tmp_path / "root.layout")
    assert list(graph.attestations()) == []
    (layout,) = graph.layouts
    assert (layout.file, layout.envelope) == ("root.layout", "metablock")
    assert layout.signers == frozenset({ids["alice"].public.keyid})


def test_oversized_file_is_refused_before_reading(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "huge.link"
    with path.open("wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(InputError, match="larger than") as info:
        build(tmp_path, keyring, path)
    assert info.value.location == "huge.link"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_refused(tmp_path: Path, keyring: Keyring, depth: int) -> None:
    path = tmp_path / "deep.link"
    path.write_text('{"signed": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(InputError, match="nested deeper than") as info:
        build(tmp_path, keyring, path)
    assert info.value.location == "deep.link"


def test_duplicate_json_keys_are_refused(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    path = write_link(tmp_path / "t.link", make_link(), "metablock", [ids["alice"].signer])
    text = path.read_text()
    path.write_text(text.replace('"signatures":', '"signatures": [], "signatures":', 1))
    with pytest.raises(InputError, match="duplicate JSON key `signatures`"):
        build(tmp_path, keyring, path)


@pytest.mark.parametrize(
    "module",
    ["policy_engine.graph.builders.attestations", "policy_engine.graph.build", "policy_engine.cli"],
)
def test_modules_import_without_in_toto(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "sys.exit(any(m in sys.modules for m in ('in_toto', 'securesystemslib')))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- the in-toto demo corpus ---------------------------------------------------------------
@pytest.mark.skipif(not DEMO.is_dir(), reason="shared corpus not present at ../shared/corpus")
def test_in_toto_demo_links_classic_and_dsse() -> None:
    keys = {n: load_public_key(DEMO / "demo_files" / f"{n}.pub") for n in ("bob", "carl")}
    keyring = Keyring(keys)
    graph = build(DEMO, keyring, DEMO / "demo_files", DEMO / "demo_dsse_files")
    found = {(a.envelope, a.step_name): a for a in graph.attestations()}
    assert set(found) == {(e, s) for e in ENVELOPES for s in ("write-code", "package")}
    for envelope in ENVELOPES:
        assert found[envelope, "write-code"].signers == {keys["bob"].keyid}
        assert found[envelope, "package"].signers == {keys["carl"].keyid}
    package = found["metablock", "package"]
    assert package.products["foo.tar.gz"]["sha256"].startswith("52947cb7")
    assert graph.issues == []
