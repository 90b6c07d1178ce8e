"""One key in two encodings is one key: its id is computed from canonical key material.

A hostile policy could trust the same ed25519 key twice (PEM, and securesystemslib JSON
with upper-case hex) so that one signature meets a threshold of two.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner

from policy_engine.compiler import compile_modules
from policy_engine.evaluate import evaluate
from policy_engine.keys import load_public_key
from policy_engine.language import parse_text
from policy_engine.testing.spec import GraphSpec, build_graph

POLICY = """\
policy "two encodings"
key pem from "keys/a.pub"
key upper from "keys/a.json"
role team = pem, upper
control S-1 "two signers" {
  severity high
  stage model_deployment
  require every artifact matching "models/*" is signed by at least 2 of team
}
"""


def write_both(folder: Path, signer: CryptoSigner) -> None:
    folder.mkdir(parents=True)
    public = signer.public_key
    pem = signer._private_key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (folder / "a.pub").write_bytes(pem)
    upper = {"keytype": public.keytype, "scheme": public.scheme,
             "keyval": {"public": public.keyval["public"].upper()}}  # fmt: skip
    (folder / "a.json").write_text(json.dumps(upper))


def test_both_encodings_compute_one_id(tmp_path: Path) -> None:
    write_both(tmp_path / "keys", CryptoSigner.generate_ed25519())
    pem, upper = (load_public_key(tmp_path / "keys" / n) for n in ("a.pub", "a.json"))
    assert pem.keyid == upper.keyid


def test_one_key_trusted_twice_cannot_meet_a_threshold_of_two(tmp_path: Path) -> None:
    write_both(tmp_path / "keys", CryptoSigner.generate_ed25519())
    parsed = parse_text(POLICY, "p.policy")
    policy = compile_modules([parsed.module], tmp_path).policy
    assert policy is not None and len(policy.roles["team"].keyids) == 1
    spec = GraphSpec.model_validate(
        {
            "workspace": {"models/m.pkl": {"sha256": "s"}},
            "attestations": [
                {"file": "a.link", "step": "train", "signed_by": ["pem", "upper"],
                 "products": {"models/m.pkl": {"sha256": "s"}}},
            ],
            "steps": [{"name": "train", "outputs": {"models/m.pkl": {"sha256": "s"}}}],
        }
    )  # fmt: skip
    evaluation = evaluate(policy, build_graph(spec, policy), datetime.now(timezone.utc))
    (finding,) = [f for f in evaluation.findings if f.control == "S-1"]
    assert "only" in finding.message and "2 distinct key(s)" in finding.message
