"""The in-toto family of the shared corpus, read as ``mlpolicy`` reads attestations.

Third-party files (``../shared/corpus``, read-only; see its MANIFEST.md): in-toto's
demo (classic and DSSE), in-toto-golang's pre-signed layouts and links, the
in-toto attestation spec's extracted examples, SLSA spec examples and GUAC's test
data. Signatures are checked against the keys beside them; the in-toto-golang
signature and threshold verdicts of MANIFEST §2 are reproduced (not the
inspection runs, which are never executed). Mutated copies go to ``tmp_path``.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner

from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext, LayoutOwners
from policy_engine.graph.builders.attestations import add_statements, build_attestations
from policy_engine.graph.builders.attestations.slsa import SLSA_V1, parse_build
from policy_engine.graph.builders.attestations.statements import parse_statement
from policy_engine.graph.model import Layout, ProvenanceGraph, SignatureStatus
from policy_engine.keys import Keyring, load_public_key

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
IN_TOTO = CORPUS / "in-toto" / "tests"
GOLANG = CORPUS / "in-toto-golang" / "test" / "data"
EXAMPLES = CORPUS / "in-toto-attestation" / "extracted-examples"
GUAC = CORPUS / "guac"
GUAC_DATA = GUAC / "internal" / "testing" / "testdata" / "exampledata"
pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"shared corpus not present at {CORPUS}"
)
BEFORE_2030 = datetime(2025, 1, 1, tzinfo=timezone.utc)
VALID, INVALID, UNTRUSTED = (
    SignatureStatus.VALID,
    SignatureStatus.INVALID,
    SignatureStatus.UNTRUSTED,
)


def read_attestations(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Every attestation, statement resources matched by name only (no workspace builder)."""
    build_attestations(graph, context)
    add_statements(graph, context)


def read(
    root: Path,
    keys: dict[str, Path],
    *paths: Path,
    now: datetime = BEFORE_2030,
    owned: str = "**",
) -> ProvenanceGraph:
    """The attestations, with every key given owning the layouts matching ``owned``."""
    keyring = Keyring({name: load_public_key(path) for name, path in keys.items()})
    graph = ProvenanceGraph(str(root))
    owners = (LayoutOwners(owned, "owners", frozenset(k.keyid for k in keyring.by_name.values())),)
    context = BuildContext(root, keyring, paths, now=now, hash_cache=False, layout_owners=owners)
    read_attestations(graph, context)
    return graph


def layouts(graph: ProvenanceGraph) -> dict[str, Layout]:
    return {x.file: x for x in graph.layouts}


def steps(layout: Layout) -> dict[str, tuple[int, bool]]:
    """Step name -> (distinct authorised signers, satisfied)."""
    return {s.name: (len(s.signers), s.satisfied) for s in layout.steps}


# -- in-toto (Python reference implementation) ----------------------------------------------
@pytest.mark.parametrize("folder", ["demo_files", "demo_dsse_files"])
def test_in_toto_demo_links_and_layout_template(folder: str) -> None:
    demo = IN_TOTO / folder
    keys = {n: IN_TOTO / "demo_files" / f"{n}.pub" for n in ("bob", "carl")}
    graph = read(IN_TOTO, keys, demo, demo / "demo.layout.template")
    links = {a.step_name: a for a in graph.attestations()}
    assert {n: [s.status for s in a.signatures] for n, a in links.items()} == {
        "write-code": [VALID],
        "package": [VALID],
    }
    assert links["package"].products["foo.tar.gz"]["sha256"].startswith("52947cb7")
    (template,) = graph.layouts
    assert template.signatures == () and template.expires is None  # unsigned, no expiry
    assert sorted(k[:8] for k in template.keys) == ["2f89b927", "776a00e2"]
    assert steps(template) == {"write-code": (1, True), "package": (1, True)}
    assert [i.run for i in template.inspections] == [
        ("python", "./scripts/tar", "xfz", "foo.tar.gz")
    ]
    assert not template.trusted  # unsigned: as in-toto-verify, it is not trusted ...
    (issue,) = graph.issues  # ... and raises no threshold issue, only its own
    assert (issue.code, issue.subject) == ("untrusted-layout", f"{folder}/demo.layout.template")
    assert "lacks a valid signature by owner key(s)" in issue.message
    assert graph.notes == [f"{folder}/demo.layout.template: the layout has no `expires`"]


def test_in_toto_gpg_demo_signatures_are_never_valid() -> None:
    graph = read(IN_TOTO, {}, IN_TOTO / "demo_files_gpg")
    statuses = {s.status for a in graph.attestations() for s in a.signatures}
    assert statuses == {UNTRUSTED}
    assert all("OpenPGP" in s.reason for a in graph.attestations() for s in a.signatures)


def signed_template(tmp_path: Path, signers: list[str], mutate: Any = None) -> Path:
    """demo.layout.template signed (classic) with tests/pems keys, as in-toto's tests do."""
    layout = json.loads((IN_TOTO / "demo_files" / "demo.layout.template").read_text())["signed"]
    layout["expires"] = "2030-01-02T03:04:06Z"
    signatures = []
    for name in signers:
        private = load_pem_private_key(
            (IN_TOTO / "pems" / f"{name}_private_unencrypted.pem").read_bytes(), None
        )
        signer = CryptoSigner(private, load_public_key(IN_TOTO / "pems" / f"{name}_public.pem").key)
        sig = signer.sign(encode_canonical(layout).encode())
        signatures.append({"keyid": sig.keyid, "sig": sig.signature})
    document = {"signed": layout, "signatures": signatures}
    if mutate:
        mutate(document)
    path = tmp_path / "root.layout"
    path.write_text(json.dumps(document))
    return path


PEM_KEYS = {n: IN_TOTO / "pems" / f"{n}_public.pem" for n in ("rsa", "ecdsa", "ed25519")}


@pytest.mark.parametrize(
    ("case", "signers", "trusted", "mutate", "expected"),
    [
        ("1 passing", ["rsa"], ["rsa"], None, [VALID]),
        ("2 double signed", ["rsa", "ecdsa"], ["rsa", "ecdsa"], None, [VALID, VALID]),
        ("6 wrong key", ["rsa"], ["ecdsa"], None, [UNTRUSTED]),
        (
            "7 modified after signing",
            ["rsa"],
            ["rsa"],
            lambda d: d["signed"].update(readme="x"),
            [INVALID],
        ),
        ("13 no keys", ["rsa"], [], None, [UNTRUSTED]),
        (
            "14 signature lacks sig",
            ["rsa"],
            ["rsa"],
            lambda d: d["signatures"][0].pop("sig"),
            [INVALID],
        ),
    ],
)
def test_in_toto_layout_signature_verdicts(
    tmp_path: Path, case: str, signers: list[str], trusted: list[str], mutate: Any, expected: list
) -> None:
    path = signed_template(tmp_path, signers, mutate)
    graph = read(tmp_path, {n: PEM_KEYS[n] for n in trusted}, path, IN_TOTO / "demo_files")
    (layout,) = graph.layouts
    assert [s.status for s in layout.signatures] == expected, case
    passing = bool(trusted) and all(s is VALID for s in expected)
    assert layout.trusted is passing
    bad = [] if passing or UNTRUSTED in expected else ["bad-signature"]
    assert [i.code for i in graph.issues] == bad + ([] if passing else ["untrusted-layout"])


def test_in_toto_missing_step_link_fails_the_threshold(tmp_path: Path) -> None:
    """MANIFEST §1 case 9: the demo without ``package.2f89b927.link``."""
    path = signed_template(tmp_path, ["rsa"])
    graph = read(
        tmp_path,
        {"rsa": PEM_KEYS["rsa"]},
        path,
        IN_TOTO / "demo_files" / "write-code.776a00e2.link",
    )
    assert steps(graph.layouts[0]) == {"write-code": (1, True), "package": (0, False)}
    assert [i.code for i in graph.issues] == ["layout-threshold"]


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        (datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc), False),
        (datetime(2030, 1, 2, 3, 4, 6, tzinfo=timezone.utc), True),
    ],
)
def test_in_toto_layout_expiry_at_the_second(tmp_path: Path, now: datetime, expired: bool) -> None:
    """MANIFEST §1 cases 4 and 5: valid 1 s before ``expires``, expired at it."""
    path = signed_template(tmp_path, ["rsa"])
    graph = read(tmp_path, {"rsa": PEM_KEYS["rsa"]}, path, IN_TOTO / "demo_files", now=now)
    assert ("layout-expired" in [i.code for i in graph.issues]) is expired


# -- in-toto-golang: pre-signed layouts and links (MANIFEST §2) ----------------------------------
def sign_with_alice(signed: dict[str, Any]) -> dict[str, str]:
    """A classic signature by in-toto-golang's test key ``alice`` (RSA, PSS), as its tests make."""
    private = load_pem_private_key((GOLANG / "alice").read_bytes(), None)
    public = load_public_key(GOLANG / "alice.pub").key
    sig = CryptoSigner(private, public).sign(encode_canonical(signed).encode())
    return {"keyid": sig.keyid, "sig": sig.signature}


def test_golang_links_verify_with_the_keys_beside_them() -> None:
    keys = {"dan": GOLANG / "dan.pub", "alice": GOLANG / "alice.pub"}
    graph = read(GOLANG, keys, GOLANG / "write-code.b7d643de.link", GOLANG / "foo.b7d643de.link")
    assert {a.file: [s.status for s in a.signatures] for a in graph.attestations()} == {
        "write-code.b7d643de.link": [VALID],
        "foo.b7d643de.link": [VALID],
    }
    canonical = read(GOLANG, {}, GOLANG / "canonical-test.link")
    assert [a.signatures for a in canonical.attestations()] == [()]


@pytest.mark.parametrize(
    ("layout", "links", "expected"),
    [
        (
            "demo.layout",
            ["write-code.b7d643de.link", "package.d3ffd108.link"],
            {"write-code": (1, True), "package": (1, True)},
        ),
        (
            "demo.dsse.layout",
            ["write-code.b7d643de.link", "package.d3ffd108.link"],
            {"write-code": (1, True), "package": (1, True)},
        ),
        (
            "dsse-only.root.layout",
            [
                "clone-dsse.776a00e2.link",
                "update-version-dsse.776a00e2.link",
                "package-dsse.2f89b927.link",
            ],
            {"clone-dsse": (1, True), "update-version-dsse": (1, True), "package-dsse": (1, True)},
        ),
    ],
)
def test_golang_verify_pass(layout: str, links: list[str], expected: dict) -> None:
    """TestInTotoVerifyPass: metablock layout, DSSE layout, only DSSE metadata."""
    graph = read(
        GOLANG, {"alice": GOLANG / "alice.pub"}, GOLANG / layout, *(GOLANG / n for n in links)
    )
    fact = layouts(graph)[layout]
    assert [s.status for s in fact.signatures] == [VALID]
    assert steps(fact) == expected
    assert graph.issues == []


def test_golang_layout_signatures_need_a_trusted_key() -> None:
    """TestVerifyLayoutSignatures: no key fails; alice.pub passes."""
    untrusted = read(GOLANG, {}, GOLANG / "demo.layout").layouts[0]
    assert untrusted.signers == frozenset() and [s.status for s in untrusted.signatures] == [
        UNTRUSTED
    ]
    trusted = read(GOLANG, {"alice": GOLANG / "alice.pub"}, GOLANG / "demo.layout").layouts[0]
    assert trusted.signers == {load_public_key(GOLANG / "alice.pub").keyid}


def test_golang_layout_expiration(tmp_path: Path) -> None:
    """TestVerifyLayoutExpiration: past date fails, future passes, unparseable fails closed."""
    alice = {"alice": GOLANG / "alice.pub"}
    links = (GOLANG / "write-code.b7d643de.link", GOLANG / "package.d3ffd108.link")
    later = datetime(2031, 1, 1, tzinfo=timezone.utc)
    late = read(GOLANG, alice, GOLANG / "demo.layout", *links, now=later)
    assert [i.code for i in late.issues] == ["layout-expired"]
    assert read(GOLANG, alice, GOLANG / "demo.layout", *links).issues == []
    document = json.loads((GOLANG / "demo.layout").read_text())
    document["signed"]["expires"] = "2020-02-27T18:03:43.000Z-not-a-date"
    (tmp_path / "demo.layout").write_text(json.dumps(document))
    with pytest.raises(InputError, match="invalid in-toto layout"):
        read(tmp_path, alice, tmp_path / "demo.layout")


def threshold_layout(tmp_path: Path, threshold: int = 2, step: str = "foo") -> Path:
    """The step ``foo`` of verifylib_test.go, with demo.layout's keys, signed by a test owner."""
    demo = json.loads((GOLANG / "demo.layout").read_text())["signed"]
    keyids = sorted(demo["keys"])  # b7d643de…, d3ffd108…
    layout = {
        "_type": "layout",
        "expires": "2030-11-18T16:06:36Z",
        "keys": demo["keys"],
        "steps": [
            {
                "_type": "step",
                "name": step,
                "pubkeys": [*keyids, "abcabc" * 8],
                "threshold": threshold,
            }
        ],
        "inspect": [],
    }
    owner = CryptoSigner.generate_ed25519()
    sig = owner.sign(encode_canonical(layout).encode())
    (tmp_path / "keys").mkdir(exist_ok=True)
    pem = owner.public_key.keyval["public"]
    (tmp_path / "keys" / "owner.json").write_text(
        json.dumps({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": pem}})
    )
    path = tmp_path / "root.layout"
    path.write_text(
        json.dumps({"signed": layout, "signatures": [{"keyid": sig.keyid, "sig": sig.signature}]})
    )
    return path


def broken_copy(tmp_path: Path, name: str) -> Path:
    document = json.loads((GOLANG / name).read_text())
    document["signed"]["command"] = ["tampered"]
    path = tmp_path / "broken" / name  # filed under its own name: only its bytes changed
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def test_golang_link_signature_thresholds(tmp_path: Path) -> None:
    """TestVerifyLinkSignatureThesholds: two distinct valid signers are needed."""
    layout = threshold_layout(tmp_path)
    owner = {"owner": tmp_path / "keys" / "owner.json"}
    b7, d3 = GOLANG / "foo.b7d643de.link", GOLANG / "foo.d3ffd108.link"

    def verdict(*links: Path) -> tuple[tuple[int, bool], list[str]]:
        graph = read(tmp_path, owner, layout, *links)
        return steps(graph.layouts[0])["foo"], sorted(i.code for i in graph.issues)

    assert verdict() == ((0, False), ["layout-threshold"])  # links are missing
    assert verdict(b7) == ((1, False), ["layout-threshold"])  # one link
    (tmp_path / "links").mkdir()
    same = tmp_path / "links" / "foo.same.link"
    shutil.copyfile(b7, same)  # two links, one key
    assert verdict(b7, same) == ((1, False), ["layout-threshold"])
    broken = broken_copy(tmp_path, "foo.d3ffd108.link")
    assert verdict(b7, broken) == ((1, False), ["bad-signature", "layout-threshold"])
    assert verdict(b7, d3) == ((2, True), [])  # two distinct valid links
    assert verdict(b7, d3, broken)[0] == (2, True)  # a third, broken link is ignored


def test_golang_links_of_a_step_the_layout_lacks_count_for_nothing(tmp_path: Path) -> None:
    layout = threshold_layout(tmp_path, step="bar")
    graph = read(
        tmp_path, {"owner": tmp_path / "keys" / "owner.json"}, layout, GOLANG / "foo.b7d643de.link"
    )
    assert steps(graph.layouts[0]) == {"bar": (0, False)}


def test_golang_sublayout_is_a_layout_fact_standing_for_its_step(tmp_path: Path) -> None:
    """TestVerifySublayouts: ``sub_layout.70ca5750.link`` is a layout stored as a link."""
    shutil.copyfile(GOLANG / "sub_layout.70ca5750.link", tmp_path / "sub_layout.70ca5750.link")
    (tmp_path / "sub_layout.70ca5750").mkdir()
    for name in ("write-code.b7d643de.link", "package.d3ffd108.link"):
        shutil.copyfile(GOLANG / name, tmp_path / "sub_layout.70ca5750" / name)
    alice = {"alice": GOLANG / "alice.pub"}
    unsigned = json.loads((GOLANG / "super.layout").read_text())  # the Go test signs it
    (tmp_path / "super.layout").write_text(json.dumps(unsigned))
    graph = read(tmp_path, alice, tmp_path, owned="super.layout")
    assert {x.file: x.trusted for x in graph.layouts} == {
        "super.layout": False,
        "sub_layout.70ca5750.link": False,  # trust passes only from a trusted parent
    }
    assert sorted(i.code for i in graph.issues) == ["layout-expired", *["untrusted-layout"] * 2]
    signed = {"signed": unsigned["signed"], "signatures": [sign_with_alice(unsigned["signed"])]}
    (tmp_path / "super.layout").write_text(json.dumps(signed))
    graph = read(tmp_path, alice, tmp_path, owned="super.layout")
    facts = layouts(graph)
    sub = facts["sub_layout.70ca5750.link"]
    assert facts["super.layout"].trusted and sub.trusted  # the sublayout by delegation
    assert sub.as_step == "sub_layout" and [s.status for s in sub.signatures] == [VALID]
    assert steps(facts["super.layout"]) == {"sub_layout": (1, True)}
    assert steps(sub) == {"write-code": (1, True), "package": (1, True)}
    assert [a.file for a in graph.attestations()] == [
        "sub_layout.70ca5750/package.d3ffd108.link",
        "sub_layout.70ca5750/write-code.b7d643de.link",
    ]
    assert [(i.code, i.subject) for i in graph.issues] == [("layout-expired", "super.layout")]


# -- the in-toto attestation framework's examples -------------------------------------------------
STATEMENT_EXAMPLES = {  # file: (predicate type, subject names)
    "spec__predicates__reference__ex2.json": (
        "https://in-toto.io/attestation/reference/v0.1",
        ["registry.example.com/my-project/my-image"],
    ),
    "spec__predicates__reference__ex3.json": (
        "https://in-toto.io/attestation/reference/v0.1",
        ["foo.deb", "bar.deb"],
    ),
    "spec__predicates__release__ex2.json": (
        "https://in-toto.io/attestation/release/v0.1",
        ["http-7.2.16.tgz"],
    ),
    "spec__predicates__release__ex3.stripped.json": (
        "https://in-toto.io/attestation/release/v0.1",
        ["urllib3-2.1.0.tar.gz", "urllib3-2.1.0-py3-none-any.whl"],
    ),
    "spec__predicates__release__ex4.json": (
        "https://in-toto.io/attestation/release/v0.1",
        ["registry.example.com/my-project/my-image"],
    ),
    "spec__predicates__release__ex5.json": (
        "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
        ["pkg:npm/semver@7.5.4"],
    ),
    "spec__predicates__release__ex6.stripped.json": (
        "https://in-toto.io/attestation/release/v0.1",
        ["semver-7.5.4.tgz"],
    ),
    "spec__predicates__scai__ex2.stripped.json": (
        "https://in-toto.io/attestation/scai/v0.3",
        ["my-app"],
    ),
    "spec__predicates__scai__ex3.stripped.json": (
        "https://in-toto.io/attestation/scai/v0.3",
        ["gcc9.3.0"],
    ),
    "spec__predicates__scai__ex4.stripped.json": (
        "https://in-toto.io/attestation/scai/v0.3",
        ["my-app"],
    ),
    "spec__predicates__svr__ex2.json": ("https://in-toto.io/attestation/svr/v0.2", ["static"]),
    "spec__predicates__svr__ex3.json": ("https://in-toto.io/attestation/svr/v0.2", ["myapp"]),
    "spec__predicates__svr__ex4.json": ("https://in-toto.io/attestation/svr/v0.2", ["webapp"]),
    "spec__predicates__test-result__ex2.json": (
        "https://in-toto.io/attestation/test-result/v0.1",
        [""],
    ),
}


@pytest.mark.parametrize("name", sorted(STATEMENT_EXAMPLES))
def test_attestation_spec_statements(name: str) -> None:
    predicate_type, subjects = STATEMENT_EXAMPLES[name]
    graph = read(EXAMPLES, {}, EXAMPLES / name)
    (att,) = graph.attestations()
    assert (att.kind, att.envelope, att.predicate_type) == ("statement", "none", predicate_type)
    assert att.signers == frozenset() and att.signatures == ()  # unsigned: no valid signer
    parsed = parse_statement(json.loads((EXAMPLES / name).read_text()), name)
    assert [s.name for s in parsed.subjects] == subjects
    assert all(s.digest for s in parsed.subjects)
    assert att.subjects == {}  # none of them is a file here
    assert len(graph.notes) == len(subjects)


def test_attestation_spec_resource_descriptors_are_skipped_when_searched(tmp_path: Path) -> None:
    for path in sorted(EXAMPLES.glob("spec__v1__resource_descriptor__ex*.json")):
        shutil.copyfile(path, tmp_path / path.name)
        with pytest.raises(InputError, match="not an attestation"):
            read(EXAMPLES, {}, path)  # named explicitly: it must be one
    graph = read(tmp_path, {}, tmp_path)
    assert len(graph.notes) == 5 and all("skipped, not an attestation" in n for n in graph.notes)


def test_attestation_spec_envelope_placeholder_fails_closed() -> None:
    with pytest.raises(InputError, match="`payload` is not base64") as info:
        read(EXAMPLES, {}, EXAMPLES / "spec__v0.1.0__README__ex1.json")
    assert info.value.location == "spec__v0.1.0__README__ex1.json"


# -- SLSA spec examples ----------------------------------------------------------------------
SLSA_EXAMPLES = sorted((CORPUS / "slsa-spec").glob("at-*/docs/**/example.json"))


@pytest.mark.parametrize("path", SLSA_EXAMPLES, ids=lambda p: p.parent.name)
def test_slsa_spec_examples_are_predicates_without_a_statement_type(
    tmp_path: Path, path: Path
) -> None:
    with pytest.raises(InputError, match="no `_type`"):
        read(CORPUS, {}, path)
    document = json.loads(path.read_text()) | {"_type": "https://in-toto.io/Statement/v1"}
    (tmp_path / "statement.json").write_text(json.dumps(document))
    graph = read(tmp_path, {}, tmp_path / "statement.json")
    (att,) = graph.attestations()
    assert att.predicate_type in (
        "https://slsa.dev/provenance/v1?draft",
        "https://slsa.dev/provenance/v1-rc1",
    )
    assert list(graph.steps()) == []  # pre-final provenance is evidence, not lineage
    assert att.issued_at == datetime(2023, 1, 1, 12, 34, 56, tzinfo=timezone.utc)


# -- GUAC test data -------------------------------------------------------------------------
def test_guac_slsa_statements_parse_builders_and_materials() -> None:
    cases = {
        GUAC / "extracted-from-testdata.go" / "ite6SLSA02.json": (
            "https://github.com/Attestations/GitHubHostedActions@v1",
            2,
        ),
        GUAC / "extracted-from-testdata.go" / "ite6SLSA1.json": (
            "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v0.0.1",
            2,
        ),
        GUAC_DATA / "oci-kubectl-linux-amd64-in-toto.json": (
            "Project Collection Build Service (AzureContainerUpstream)",
            1,
        ),
    }
    for path, (builder, materials) in cases.items():
        parsed = parse_statement(json.loads(path.read_text()), path.name)
        assert parsed.build is not None and parsed.build.builder_id == builder
        assert len(parsed.build.dependencies) == materials
    kubectl_path = GUAC_DATA / "oci-kubectl-linux-amd64-in-toto.json"
    kubectl = parse_statement(json.loads(kubectl_path.read_text()), kubectl_path.name)
    assert (
        len(kubectl.subjects) == 75 and kubectl.build is not None and kubectl.build.build_type == ""
    )


def test_guac_dsse_provenance_is_signed_by_an_untrusted_key() -> None:
    graph = read(GUAC_DATA, {}, GUAC_DATA / "oci-dsse-att.json")
    (att,) = graph.attestations()
    assert (att.envelope, att.predicate_type) == ("dsse", "https://slsa.dev/provenance/v0.2")
    assert [(s.keyid, s.status) for s in att.signatures] == [
        ("SHA256:Q2hrAmo3UuVRU6SOErQ+0EgKZolzlZdRu9eoKUii+kc", UNTRUSTED)
    ]
    assert att.issued_at is not None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("certify-novuln.json", "subject 0 has no `name`"),
        ("certify-vuln.json", "subject 0 has no `digest`"),
        ("certify-vuln-v02.json", "subject 0 has no `digest`"),
    ],
)
def test_guac_statements_without_subject_digests_fail_closed(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        read(GUAC_DATA, {}, GUAC_DATA / name)
    assert info.value.location == name


def test_guac_folder_reads_statements_skips_other_documents_and_fails_closed(
    tmp_path: Path,
) -> None:
    skipped = [
        "ingest_predicates.json",
        "invalid-scorecard.json",
        "kubernetes-scorecard.json",
        "open-vex-affected.json",
        "open-vex-not-affected.json",
        "small-deps-cyclonedx.json",
        "small-spdx.json",
    ]
    kept = [
        "certify-novuln-v02.json",
        "crev-review.json",
        "github-review.json",
        "oci-dsse-att.json",
    ]
    for name in skipped + kept:
        shutil.copyfile(GUAC_DATA / name, tmp_path / name)
    graph = read(tmp_path, {}, tmp_path)
    assert sorted(a.file for a in graph.attestations()) == kept
    skips = sorted(n.split(":")[0] for n in graph.notes if "skipped" in n)
    assert skips == skipped
    with pytest.raises(InputError) as info:  # the whole folder holds a malformed statement
        read(GUAC_DATA, {}, GUAC_DATA)
    assert info.value.location == "certify-novuln.json"


def test_parse_build_reads_v1_dependencies_of_the_spec_shape() -> None:
    (path,) = [p for p in SLSA_EXAMPLES if "v1-rc1" in p.parts]
    predicate = json.loads(path.read_text())["predicate"]
    build = parse_build(SLSA_V1, predicate, "example.json")
    assert build is not None and build.builder_id.endswith("builder_go_slsa3.yml@refs/tags/v0.0.1")
    assert build.dependencies[0].uri.startswith("git+https://github.com/")
