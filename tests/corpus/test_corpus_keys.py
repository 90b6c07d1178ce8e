"""Every key type of the shared corpus, against real signatures made with its private key.

The corpus (read-only third-party data, ``../shared/corpus``) has key pairs from
in-toto (``tests/pems``, ``demo_files``) and in-toto-golang (``test/data``).
Each private key signs a link here, classic and DSSE; the engine must verify
it with the public key loaded as PEM and as securesystemslib JSON, and refuse
it once one byte of the payload changes. Key types securesystemslib cannot
verify (secp256k1, P-224) are refused when loaded, so nothing they sign counts.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.dsse import Envelope
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner, SSlibKey

from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.attestations import add_statements, build_attestations
from policy_engine.graph.model import ProvenanceGraph, SignatureStatus
from policy_engine.keys import KeyLoadError, Keyring, PublicKey, load_public_key, parse_public_key

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
PEMS = CORPUS / "in-toto" / "tests" / "pems"
DEMO = CORPUS / "in-toto" / "tests" / "demo_files"
GOLANG = CORPUS / "in-toto-golang" / "test" / "data"
pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"shared corpus not present at {CORPUS}"
)

PAIRS = {  # name: (private key, public key, expected key type and scheme)
    "in-toto rsa pem": (
        PEMS / "rsa_private_unencrypted.pem",
        PEMS / "rsa_public.pem",
        "rsassa-pss-sha256",
    ),
    "in-toto ecdsa P-256 pem": (
        PEMS / "ecdsa_private_unencrypted.pem",
        PEMS / "ecdsa_public.pem",
        "ecdsa-sha2-nistp256",
    ),
    "in-toto ed25519 pem": (
        PEMS / "ed25519_private_unencrypted.pem",
        PEMS / "ed25519_public.pem",
        "ed25519",
    ),
    "in-toto demo rsa (bob)": (DEMO / "bob", DEMO / "bob.pub", "rsassa-pss-sha256"),
    "golang rsa 2048 (alice)": (GOLANG / "alice", GOLANG / "alice.pub", "rsassa-pss-sha256"),
    "golang rsa 3072 (dan)": (GOLANG / "dan", GOLANG / "dan.pub", "rsassa-pss-sha256"),
    "golang ed25519 (carol)": (GOLANG / "carol", GOLANG / "carol.pub", "ed25519"),
    "golang ecdsa P-384 (grace)": (GOLANG / "grace", GOLANG / "grace.pub", "ecdsa-sha2-nistp384"),
    "golang ecdsa P-521 (frank)": (GOLANG / "frank", GOLANG / "frank.pub", "ecdsa-sha2-nistp521"),
}
LINK = {
    "_type": "link",
    "name": "train",
    "command": ["python", "train.py"],
    "materials": {"data.csv": {"sha256": "ab" * 32}},
    "products": {"model.pkl": {"sha256": "cd" * 32}},
    "byproducts": {},
    "environment": {},
}


def read_attestations(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Every attestation, statement resources matched by name only (no workspace builder)."""
    build_attestations(graph, context)
    add_statements(graph, context)


def signer_for(private: Path, public: PublicKey) -> CryptoSigner:
    key = load_pem_private_key(private.read_bytes(), None)
    return CryptoSigner(key, public.key)


def json_form(public: PublicKey) -> PublicKey:
    """The same key as securesystemslib JSON (``keytype``, ``scheme``, ``keyval.public``)."""
    document = {
        "keytype": public.keytype,
        "scheme": public.scheme,
        "keyval": dict(public.key.keyval),
    }
    return parse_public_key(json.dumps(document).encode())


def signed_files(folder: Path, signer: CryptoSigner) -> list[Path]:
    folder.mkdir()
    data = encode_canonical(LINK).encode()
    classic = {
        "signed": LINK,
        "signatures": [{"keyid": signer.public_key.keyid, "sig": signer.sign(data).signature}],
    }
    envelope = Envelope(json.dumps(LINK).encode(), "application/vnd.in-toto+json", {})
    envelope.sign(signer)
    (folder / "classic.link").write_text(json.dumps(classic))
    (folder / "dsse.link").write_text(json.dumps(envelope.to_dict()))
    return [folder / "classic.link", folder / "dsse.link"]


def tamper(path: Path) -> None:
    """Change one byte of what was signed (the step name), keeping the signatures."""
    document = json.loads(path.read_text())
    if "signed" in document:
        document["signed"]["name"] = "tra1n"
    else:
        payload = base64.b64decode(document["payload"]).replace(b"train", b"tra1n")
        document["payload"] = base64.b64encode(payload).decode()
    path.write_text(json.dumps(document))


def verdicts(root: Path, public: PublicKey, files: list[Path]) -> list[SignatureStatus]:
    graph = ProvenanceGraph(str(root))
    read_attestations(
        graph, BuildContext(root, Keyring({"k": public}), tuple(files), hash_cache=False)
    )
    return [
        s.status for a in sorted(graph.attestations(), key=lambda a: a.file) for s in a.signatures
    ]


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_real_signatures_verify_with_pem_and_json_keys(tmp_path: Path, name: str) -> None:
    private, public_path, scheme = PAIRS[name]
    public = load_public_key(public_path)
    assert public.scheme == scheme
    files = signed_files(tmp_path / "signed", signer_for(private, public))
    assert verdicts(tmp_path, public, files) == [SignatureStatus.VALID] * 2
    as_json = json_form(public)
    assert as_json.keyid == public.keyid
    assert verdicts(tmp_path, as_json, files) == [SignatureStatus.VALID] * 2
    for path in files:
        tamper(path)
    assert verdicts(tmp_path, public, files) == [SignatureStatus.INVALID] * 2


def test_legacy_json_ed25519_key_verifies_under_its_legacy_id(tmp_path: Path) -> None:
    """``danny`` is a securesystemslib JSON key pair; links name it by its legacy key id."""
    document = json.loads((DEMO / "danny").read_text())
    public = load_public_key(DEMO / "danny.pub")
    assert document["keyid"] in public.aliases
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(document["keyval"]["private"]))
    claimed = SSlibKey(
        document["keyid"], "ed25519", "ed25519", {"public": document["keyval"]["public"]}
    )
    files = signed_files(tmp_path / "signed", CryptoSigner(private, claimed))
    assert verdicts(tmp_path, public, files) == [SignatureStatus.VALID] * 2


@pytest.mark.parametrize(("name", "curve"), [("erin", "secp256k1"), ("heidi", "secp224r1")])
def test_unsupported_curves_are_refused_when_loaded(name: str, curve: str) -> None:
    with pytest.raises(KeyLoadError, match=curve):
        load_public_key(GOLANG / f"{name}.pub")


def test_private_keys_are_never_trusted_as_public_keys() -> None:
    with pytest.raises(KeyLoadError, match="not a public key"):
        load_public_key(PEMS / "rsa_private_unencrypted.pem")
    with pytest.raises(KeyLoadError, match="private key"):
        load_public_key(DEMO / "danny")
