"""ed25519 signatures verified through ``cryptography`` directly give securesystemslib's verdicts.

Every case is judged twice, by :func:`verify_with` (the key object built once)
and by securesystemslib's own ``verify_signature`` (:func:`sslib_verify`), and
the two must agree; the expected verdict is written down as well, so a fast
path that agreed with a broken reference would still fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.signer import CryptoSigner, SSlibKey

from policy_engine.keys import PublicKey, parse_public_key, sslib_verify, verify_with

PAYLOAD = b'{"_type":"link","name":"train"}'


def _public(signer: CryptoSigner) -> PublicKey:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
    )

    private = load_pem_private_key(signer.private_bytes, None)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return parse_public_key(pem)


ED_SIGNER = CryptoSigner.generate_ed25519()
ED_KEY = _public(ED_SIGNER)
OTHER_KEY = _public(CryptoSigner.generate_ed25519())
EC_SIGNER = CryptoSigner.generate_ecdsa()
EC_KEY = _public(EC_SIGNER)
GOOD = ED_SIGNER.sign(PAYLOAD).signature


def _with_public(key: PublicKey, public: str) -> PublicKey:
    """``key`` claiming other public material (what a hostile key file could hold)."""
    sslib = SSlibKey(key.keyid, key.keytype, key.scheme, {"public": public})
    return replace(key, key=sslib)


CASES: list[tuple[str, PublicKey, Callable[[], str], bytes, bool]] = [
    ("valid", ED_KEY, lambda: GOOD, PAYLOAD, True),
    ("upper-case hex", ED_KEY, lambda: GOOD.upper(), PAYLOAD, True),
    ("payload changed", ED_KEY, lambda: GOOD, PAYLOAD + b" ", False),
    ("empty payload", ED_KEY, lambda: GOOD, b"", False),
    ("another key", OTHER_KEY, lambda: GOOD, PAYLOAD, False),
    ("one bit flipped", ED_KEY, lambda: f"{int(GOOD[0], 16) ^ 1:x}{GOOD[1:]}", PAYLOAD, False),
    ("truncated", ED_KEY, lambda: GOOD[:-2], PAYLOAD, False),
    ("too long", ED_KEY, lambda: GOOD + "00", PAYLOAD, False),
    ("odd length", ED_KEY, lambda: GOOD[:-1], PAYLOAD, False),
    ("not hex", ED_KEY, lambda: "zz" * 64, PAYLOAD, False),
    ("empty", ED_KEY, lambda: "", PAYLOAD, False),
    ("all zero", ED_KEY, lambda: "00" * 64, PAYLOAD, False),
    ("short public key", _with_public(ED_KEY, "ab" * 16), lambda: GOOD, PAYLOAD, False),
    ("public key not hex", _with_public(ED_KEY, "public"), lambda: GOOD, PAYLOAD, False),
    ("ecdsa valid", EC_KEY, lambda: EC_SIGNER.sign(PAYLOAD).signature, PAYLOAD, True),
    ("ecdsa changed", EC_KEY, lambda: EC_SIGNER.sign(PAYLOAD).signature, b"x", False),
]


@pytest.mark.parametrize(
    ("key", "sig", "payload", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_same_verdict_as_securesystemslib(
    key: PublicKey, sig: Callable[[], str], payload: bytes, expected: bool
) -> None:
    signature = sig()
    assert sslib_verify(key, signature, payload) is expected
    assert verify_with(key, signature, payload) is expected


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=256), flip=st.integers(min_value=-1, max_value=511))
def test_any_payload_and_any_flipped_bit(payload: bytes, flip: int) -> None:
    """A signature over any bytes verifies; with any one bit flipped, neither accepts it."""
    signature = bytearray(bytes.fromhex(ED_SIGNER.sign(payload).signature))
    if flip >= 0:
        signature[flip // 8] ^= 1 << (flip % 8)
    sig = signature.hex()
    assert verify_with(ED_KEY, sig, payload) is sslib_verify(ED_KEY, sig, payload)
    assert verify_with(ED_KEY, sig, payload) is (flip < 0)
