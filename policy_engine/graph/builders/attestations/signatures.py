"""Checking signatures against trusted keys: each one VALID, INVALID or UNTRUSTED, never dropped.

* A signature is VALID only when it verifies over the exact signed bytes with a
  trusted key; the key is found by the id the signature claims, among the ids
  computed from each trusted key's material (a claimed id is only a hint).
* A signature without a key id (DSSE allows it) is tried with every trusted key.
* A signature whose key is trusted but which does not verify is INVALID and a
  ``bad-signature`` issue; one no trusted key answers to is UNTRUSTED.
* An OpenPGP (GPG) signature is checked with a trusted GPG key (a policy's
  ``key NAME from "alice.asc"``), found by the id of the (sub)key that made it,
  with in-toto's rules (:mod:`policy_engine.gpgkeys`): a subkey signs for its
  master key, an expired key's signature does not verify.

An ed25519 key verifies (:func:`policy_engine.keys.verify_with`) through its
``cryptography`` key object, built once per key, exactly as securesystemslib's
``SSlibKey.verify_signature`` does per call (the hex decoded, then
``Ed25519PublicKey.verify``); any other key, and a key ``cryptography`` refuses,
goes through securesystemslib itself.
``tests/graph/test_signature_fast_path.py`` checks both give the same verdicts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from policy_engine import gpgkeys
from policy_engine.graph.builders.attestations.envelopes import RawSignature, Signed
from policy_engine.graph.model import Evidence, Issue, SignatureCheck, SignatureStatus
from policy_engine.keys import Keyring, PublicKey, verify_with


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
    if raw.openpgp:
        return _check_openpgp(name, key, raw, payload), found
    if raw.sig is None:
        reason = f"{raw.problem} (trusted key `{name}`)"
        return SignatureCheck(raw.keyid, SignatureStatus.INVALID, reason), found
    if verify_with(key, raw.sig, payload):
        return _verified(key.keyid, name), found
    reason = f"signature does not verify with trusted key `{name}`"
    return SignatureCheck(raw.keyid, SignatureStatus.INVALID, reason), found


@functools.lru_cache(maxsize=256)
def _verified(keyid: str, name: str) -> SignatureCheck:
    """The check of a signature key ``name`` verified: one (immutable) object per key, so
    that the links it signed share it, and it is sent and taken in once."""
    return SignatureCheck(keyid, SignatureStatus.VALID, f"verified with key `{name}`")


def _check_openpgp(name: str, key: PublicKey, raw: RawSignature, payload: bytes) -> SignatureCheck:
    if key.openpgp is None:
        reason = f"an OpenPGP signature, and trusted key `{name}` is not a GPG key"
    elif gpgkeys.verify(key, raw.openpgp_signature(), payload):
        return SignatureCheck(key.keyid, SignatureStatus.VALID, f"verified with GPG key `{name}`")
    else:
        reason = f"the OpenPGP signature does not verify with GPG key `{name}` (or it expired)"
    return SignatureCheck(raw.keyid, SignatureStatus.INVALID, reason)


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
