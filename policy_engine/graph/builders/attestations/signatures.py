"""Checking signatures against trusted keys: each one VALID, INVALID or UNTRUSTED, never dropped.

* A signature is VALID only when it verifies over the exact signed bytes with a
  trusted key; the key is found by the id the signature claims, among the ids
  computed from each trusted key's material (a claimed id is only a hint).
* A signature without a key id (DSSE allows it) is tried with every trusted key.
* A signature whose key is trusted but which does not verify is INVALID and a
  ``bad-signature`` issue; one no trusted key answers to is UNTRUSTED.
* OpenPGP (GPG) signatures are not supported: never VALID; INVALID (and an
  issue) if their key id were trusted, UNTRUSTED otherwise.

An ed25519 key verifies through its ``cryptography`` key object, built once per
key, exactly as securesystemslib's ``SSlibKey.verify_signature`` does per call
(the hex decoded, then ``Ed25519PublicKey.verify``); any other key, and a key
``cryptography`` refuses, goes through securesystemslib itself.
``tests/graph/test_signature_fast_path.py`` checks both give the same verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from policy_engine.graph.builders.attestations.envelopes import RawSignature, Signed
from policy_engine.graph.model import Evidence, Issue, SignatureCheck, SignatureStatus
from policy_engine.keys import Keyring, PublicKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_ED25519 = "ed25519"


def verify_with(key: PublicKey, sig: str, payload: bytes) -> bool:
    """Whether ``sig`` (hex) verifies over ``payload`` with ``key``."""
    public = key.key.keyval.get("public")
    if key.keytype == key.scheme == _ED25519 and isinstance(public, str):
        ed25519 = _ed25519_key(public)
        if ed25519 is not None:
            return _verify_ed25519(ed25519, sig, payload)
    return sslib_verify(key, sig, payload)


@lru_cache(maxsize=64)
def _ed25519_key(public: str) -> Ed25519PublicKey | None:
    """The ``cryptography`` key of a hex ed25519 public key (None: it refuses the bytes)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
    except ValueError:
        return None


def _verify_ed25519(key: Ed25519PublicKey, sig: str, payload: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(bytes.fromhex(sig), payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def sslib_verify(key: PublicKey, sig: str, payload: bytes) -> bool:
    """:func:`verify_with` through securesystemslib's ``verify_signature`` for every key."""
    from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
    from securesystemslib.signer import Signature

    try:
        key.key.verify_signature(Signature(key.keyid, sig), payload)
    except (UnverifiedSignatureError, VerificationError, ValueError):
        return False
    return True


def check_signatures(
    keyring: Keyring, signed: Signed, file: str, what: str
) -> tuple[tuple[SignatureCheck, ...], list[Issue]]:
    """One check per signature of ``signed``, in order, and an issue per invalid one.

    ``what`` names the document in messages, e.g. ``link `train```.
    """
    checks: list[SignatureCheck] = []
    issues: list[Issue] = []
    for raw in signed.signatures:
        check, trusted = _check(keyring, raw, signed.signed_bytes)
        checks.append(check)
        if check.status is SignatureStatus.INVALID:
            issues.append(_bad_signature(file, what, raw, trusted, check, signed.envelope))
    return tuple(checks), issues


def _check(
    keyring: Keyring, raw: RawSignature, payload: bytes
) -> tuple[SignatureCheck, tuple[str, PublicKey] | None]:
    if not raw.keyid:
        return _check_without_keyid(keyring.by_name.items(), raw, payload), None
    found = keyring.lookup(raw.keyid)
    if found is None:
        reason = raw.problem if raw.openpgp else "no trusted key has this key id"
        return SignatureCheck(raw.keyid, SignatureStatus.UNTRUSTED, reason), None
    name, key = found
    if raw.sig is None:
        reason = f"{raw.problem} (trusted key `{name}`)"
        return SignatureCheck(raw.keyid, SignatureStatus.INVALID, reason), found
    if verify_with(key, raw.sig, payload):
        return SignatureCheck(
            key.keyid, SignatureStatus.VALID, f"verified with key `{name}`"
        ), found
    reason = f"signature does not verify with trusted key `{name}`"
    return SignatureCheck(raw.keyid, SignatureStatus.INVALID, reason), found


def _check_without_keyid(
    keys: Iterable[tuple[str, PublicKey]], raw: RawSignature, payload: bytes
) -> SignatureCheck:
    if raw.sig is not None:
        for name, key in sorted(keys, key=lambda item: item[0]):
            if verify_with(key, raw.sig, payload):
                return SignatureCheck(key.keyid, SignatureStatus.VALID, f"verified with `{name}`")
    reason = raw.problem or "no key id, and no trusted key verifies it"
    return SignatureCheck("", SignatureStatus.UNTRUSTED, reason)


def _bad_signature(
    file: str,
    what: str,
    raw: RawSignature,
    trusted: tuple[str, PublicKey] | None,
    check: SignatureCheck,
    envelope: str,
) -> Issue:
    name, key = trusted or ("", None)
    evidence = (
        Evidence("file", file),
        Evidence("claimed keyid", raw.keyid),
        Evidence("trusted key", f"{name} ({key.keyid})" if key else name),
        Evidence("envelope", envelope),
    )
    return Issue(
        "bad-signature", file, f"a signature on {what} is invalid: {check.reason}", evidence
    )
