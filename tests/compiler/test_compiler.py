"""The compiler: name, type and key errors rendered exactly; IR built from valid policies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from policy_engine.compiler import PASSES, compile_modules, ir
from policy_engine.diagnostics import render_all
from policy_engine.keys import Authority, Identity
from policy_engine.language import parse_text

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text())


def _compile(text: str, root: Path, stop_after: str | None = None):
    parsed = parse_text(text, "p.policy")
    assert parsed.diagnostics == ()
    return compile_modules([parsed.module], root, stop_after)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_compiler_diagnostics_render_exactly(
    case: dict, tmp_path: Path, key_dir: Callable[[Path], Path]
) -> None:
    key_dir(tmp_path)
    result = _compile(case["policy"], tmp_path)
    rendered = render_all(result.diagnostics, {"p.policy": case["policy"]})
    rendered = rendered.replace(str(tmp_path), "ROOT")
    assert rendered + ("\n" if rendered else "") == case["diagnostics"]
    errors = [d for d in result.diagnostics if d.level.value == "error"]
    assert (result.policy is None) == bool(errors)


POLICY = """\
policy "demo"
attestations in "att"
key alice from "keys/alice.pub"
key bob from "keys/bob.pub"
role team = alice, bob
stage model_training = steps "train" or steps where meta.lifecycle == "training"
control TR-01 "Models signed" {
  severity critical
  stage model_deployment
  require every artifact matching "models/*" is signed by at least 2 of team
}
control TR-02 "Training by the team" {
  severity low
  require every step in model_training is performed by team
}
"""


def test_a_valid_policy_lowers_to_ir(tmp_path: Path, key_dir: Callable[[Path], Path]) -> None:
    key_dir(tmp_path)
    result = _compile(POLICY, tmp_path)
    policy = result.policy
    assert policy is not None
    assert policy.name == "demo"
    assert policy.attestation_paths == (tmp_path / "att",)
    team = policy.roles["team"]
    assert team.members == ("alice", "bob")
    assert team.keyids == {policy.keys["alice"].keyid, policy.keys["bob"].keyid}
    assert policy.stages["model_training"] == (
        ir.StepsNamed(("train",)),
        ir.StepsWhere(("meta", "lifecycle"), "==", "training"),
    )
    signed, performed = policy.controls
    assert signed.rules[0].predicate == ir.SignedBy(team, 2)
    assert signed.rules[0].location == ir.Location("p.policy", 10, 11)
    assert performed.stage == "model_training"  # implied by `steps in model_training`
    assert performed.severity == "low"


def test_compilation_can_stop_after_any_pass(
    tmp_path: Path, key_dir: Callable[[Path], Path]
) -> None:
    key_dir(tmp_path)
    for name, _ in PASSES:
        result = _compile(POLICY, tmp_path, stop_after=name)
        assert result.policy is None  # lowering only runs after the last pass
    assert result.context.loaded_keys.keys() == {"alice", "bob"}
    first = _compile(POLICY, tmp_path, stop_after="declare")
    assert set(first.context.controls) == {"TR-01", "TR-02"}
    assert first.context.loaded_keys == {}


SIGNERS = """\
policy "p"
key alice from "keys/alice.pub"
ca corp from "keys/ca.pem"
identity ci = "ci@example.com" issuer "https://issuer.example.com"
identity pinned = "ci@example.com" issuer "https://issuer.example.com" root "keys/root.json"
role team = alice, corp, ci, pinned
"""


def _ca_pem() -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "test CA")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_cas_and_identities_are_loaded_and_held_by_roles(
    tmp_path: Path, key_dir: Callable[[Path], Path]
) -> None:
    key_dir(tmp_path)
    pem = _ca_pem()
    (tmp_path / "keys" / "ca.pem").write_bytes(b"a test CA\n" + pem)
    (tmp_path / "keys" / "root.json").write_text('{"mediaType": "trusted root"}')
    result = _compile(SIGNERS, tmp_path)
    assert result.policy is not None, result.diagnostics
    keys = result.policy.keys
    assert isinstance(keys["corp"], Authority) and keys["corp"].keyid.startswith("x509:")
    assert isinstance(keys["ci"], Identity) and keys["ci"].root == b""
    assert keys["pinned"].keyid == keys["ci"].keyid  # the id is the identity and issuer
    assert keys["pinned"].root == b'{"mediaType": "trusted root"}'
    role = result.policy.roles["team"]
    assert role.keyids == {keys[n].keyid for n in ("alice", "corp", "ci")}


def test_an_unreadable_ca_or_root_is_e105(tmp_path: Path, key_dir: Callable[[Path], Path]) -> None:
    key_dir(tmp_path)
    (tmp_path / "keys" / "ca.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n")
    result = _compile(SIGNERS, tmp_path)
    problems = {(d.code, d.message.split(":")[0]) for d in result.diagnostics}
    assert ("E105", "ca `corp`") in problems
    assert ("E105", "identity `pinned`") in problems
    assert result.policy is None
