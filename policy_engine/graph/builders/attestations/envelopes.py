"""Opening a JSON document: what was signed, the exact bytes signed, and the signatures.

The envelope is recognised by its fields, never by the file name:

* ``signed`` (+ ``signatures``): a classic in-toto *Metablock*; the signed bytes
  are the canonical JSON (as securesystemslib's ``encode_canonical`` writes it,
  see :mod:`.canonical`) of ``signed`` exactly as read, so a field added after
  signing breaks the signature;
* ``payload`` / ``payloadType``: a DSSE envelope; the signed bytes are the DSSE
  pre-authentication encoding of the payload type and the decoded payload;
* ``mediaType`` ``application/vnd.dev.sigstore.bundle…`` with a ``dsseEnvelope``:
  a sigstore bundle, opened as its DSSE envelope (certificates and transparency
  log entries are not checked: offline, only a trusted key can make it count);
* ``_type`` an in-toto Statement: a plain, unsigned statement.

A document that is clearly not an attestation (no field above, nor any other
Statement field; a DSSE envelope of another payload type; a sigstore bundle
signing a bare digest) comes back as :class:`Foreign` with the reason. One that
looks like an attestation but is malformed raises ``InputError``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import string
import sys
from dataclasses import dataclass
from typing import Any

from policy_engine import inputs
from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations.canonical import canonical_bytes
from policy_engine.graph.paths import shown

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
_STATEMENT_FIELDS = ("predicateType", "predicate", "subject")
_HEX = frozenset(string.hexdigits)


@dataclass(frozen=True)
class RawSignature:
    """One signature as read: the key id it claims and the signature as hex (None if unusable)."""

    keyid: str
    sig: str | None
    openpgp: bool = False  # an in-toto GPG signature (``other_headers``): GPG keys check it
    problem: str = ""  # why ``sig`` is None
    pgp: tuple[str, str] = ("", "")  # an OpenPGP signature: (signature, other_headers), hex

    def openpgp_signature(self) -> dict[str, str]:
        """The OpenPGP signature as securesystemslib verifies it (:mod:`policy_engine.gpgkeys`)."""
        signature, headers = self.pgp
        return {"keyid": self.keyid, "signature": signature, "other_headers": headers}


@dataclass(frozen=True)
class Signed:
    """A signed (or plain) document: the payload, the exact bytes signed, the signatures."""

    envelope: str  # "metablock" | "dsse" | "sigstore" | "none"
    payload: Any
    signed_bytes: bytes
    signatures: tuple[RawSignature, ...]


@dataclass(frozen=True)
class Foreign:
    """A document that is clearly not an in-toto attestation, and why."""

    reason: str


def open_document(document: Any, where: str) -> Signed | Foreign:
    """Recognise the envelope of ``document`` (see the module doc); ``where`` locates errors."""
    if not isinstance(document, dict):
        return Foreign(f"a JSON {type(document).__name__}, not an object")
    if "signed" in document and "payload" in document:
        raise InputError("ambiguous attestation: both `signed` and `payload` are present", where)
    if "signed" in document:
        return _metablock(document, where)
    if "payload" in document or "payloadType" in document:
        return _dsse(document, where, "dsse")
    media = document.get("mediaType")
    if isinstance(media, str) and media.startswith(SIGSTORE_BUNDLE):
        return _sigstore(document, where)
    return _plain(document, where)


def _plain(document: dict[str, Any], where: str) -> Signed | Foreign:
    kind = document.get("_type")
    if kind in STATEMENT_TYPES:
        return Signed("none", document, b"", ())
    if kind in ("link", "layout"):
        raise InputError(
            f"an in-toto {kind} must be signed JSON (`signed`, `signatures`) or a DSSE envelope",
            where,
        )
    if isinstance(kind, str) and kind.startswith("https://in-toto.io/"):
        raise InputError(f"unsupported in-toto `_type` `{shown(kind)}`", where)
    if kind is None and any(f in document for f in _STATEMENT_FIELDS):
        raise InputError("looks like an in-toto Statement but has no `_type`", where)
    if kind is not None:
        return Foreign(f"`_type` `{shown(str(kind))}` is not an in-toto type")
    return Foreign("no in-toto, DSSE or sigstore field")


def _metablock(document: dict[str, Any], where: str) -> Signed:
    from securesystemslib.exceptions import FormatError

    signed, signatures = document["signed"], document.get("signatures")
    if not isinstance(signed, dict):
        raise InputError("invalid signed metadata: `signed` must be an object", where)
    if not isinstance(signatures, list) or not all(isinstance(s, dict) for s in signatures):
        raise InputError("invalid signed metadata: `signatures` must be a list of objects", where)
    try:
        signed_bytes = canonical_bytes(signed)
    except FormatError:  # its message quotes the whole document: name the cause only
        reason = "it has a number with a fraction or an exponent"
        raise InputError(f"signed metadata cannot be canonical JSON: {reason}", where) from None
    except UnicodeEncodeError:
        reason = "it has a string that is not valid Unicode"
        raise InputError(f"signed metadata cannot be canonical JSON: {reason}", where) from None
    return Signed("metablock", signed, signed_bytes, tuple(map(_metablock_signature, signatures)))


def _metablock_signature(entry: dict[str, Any]) -> RawSignature:
    keyid = _keyid(entry.get("keyid"))
    sig = entry.get("sig")
    if "other_headers" in entry:
        pgp = (str(entry.get("signature", "")), str(entry["other_headers"]))
        return RawSignature(keyid, None, True, "an OpenPGP signature needs a trusted GPG key", pgp)
    if not isinstance(sig, str) or not sig or not set(sig) <= _HEX:
        return RawSignature(keyid, None, problem="the signature is missing or not hexadecimal")
    return RawSignature(keyid, sig.lower())


def _dsse(document: dict[str, Any], where: str, envelope: str) -> Signed | Foreign:
    payload_type, payload, signatures = (
        document.get("payloadType"),
        document.get("payload"),
        document.get("signatures"),
    )
    if not isinstance(payload_type, str) or not isinstance(payload, str):
        raise InputError(
            "invalid DSSE envelope: `payloadType` and `payload` must be strings", where
        )
    if not isinstance(signatures, list) or not all(isinstance(s, dict) for s in signatures):
        raise InputError("invalid DSSE envelope: `signatures` must be a list of objects", where)
    if not is_in_toto_payload(payload_type):
        return Foreign(f"a DSSE envelope of `{shown(payload_type)}`, not of in-toto JSON")
    body = b64decode(payload)
    if body is None:
        raise InputError("invalid DSSE envelope: `payload` is not base64", where)
    parsed = inputs.loads(body, where, "DSSE payload")
    raw = tuple(map(_dsse_signature, signatures))
    return Signed(envelope, parsed, pae(payload_type, body), raw)


def _dsse_signature(entry: dict[str, Any]) -> RawSignature:
    keyid = _keyid(entry.get("keyid"))
    sig = entry.get("sig")
    decoded = b64decode(sig) if isinstance(sig, str) else None
    if not decoded:
        return RawSignature(keyid, None, problem="the signature is missing or not base64")
    return RawSignature(keyid, decoded.hex())


def _sigstore(document: dict[str, Any], where: str) -> Signed | Foreign:
    inner = document.get("dsseEnvelope")
    if inner is None:
        if "messageSignature" in document:
            return Foreign("a sigstore bundle signing a digest, not an attestation")
        raise InputError("invalid sigstore bundle: no `dsseEnvelope`", where)
    if not isinstance(inner, dict):
        raise InputError("invalid sigstore bundle: `dsseEnvelope` must be an object", where)
    return _dsse(inner, where, "sigstore")


def _keyid(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else repr(value)


def is_in_toto_payload(payload_type: str) -> bool:
    """``application/vnd.in-toto+json``, or a legacy ``application/vnd.in-toto.<x>+json``."""
    return payload_type == IN_TOTO_PAYLOAD or (
        payload_type.startswith("application/vnd.in-toto.") and payload_type.endswith("+json")
    )


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding (securesystemslib's): what a DSSE signature signs."""
    from securesystemslib.dsse import Envelope

    return Envelope(payload, payload_type, {}).pae()


if sys.version_info >= (3, 11):

    def _strict_base64(text: str) -> bytes:
        """``base64.b64decode(text, validate=True)``, which is this call, without the
        ASCII copy of the text it makes first."""
        return binascii.a2b_base64(text, strict_mode=True)

else:  # pragma: no cover - Python 3.10
    _strict_base64 = functools.partial(base64.b64decode, validate=True)


def b64decode(text: str) -> bytes | None:
    """Standard or URL-safe base64, padded or not (as DSSE allows); None if it is not base64."""
    cleaned = text.strip()
    cleaned += "=" * (-len(cleaned) % 4)
    standard = _decoded(cleaned)  # the usual alphabet: the text is not searched for the other
    if standard is not None or ("-" not in cleaned and "_" not in cleaned):
        return standard
    if "+" in cleaned or "/" in cleaned:
        return None  # two alphabets at once
    return _decoded(cleaned.replace("-", "+").replace("_", "/"))


def _decoded(text: str) -> bytes | None:
    try:
        return _simd_base64(text)
    except (binascii.Error, ValueError):
        pass  # refused by pybase64: the standard library decides (see _simd_base64)
    try:
        return _strict_base64(text)
    except (binascii.Error, ValueError):
        return None


def _simd_base64(text: str) -> bytes:
    """:func:`_strict_base64`'s bytes, by pybase64 (SIMD, ten times faster on a large payload).

    Where it decodes, it gives the standard library's bytes; it refuses a little more
    (padding after complete groups, as in ``AAAA====``), so only its refusals are passed
    on. ``tests/graph/test_base64_fast_path.py`` checks both on every short text and on
    hostile ones.
    """
    try:
        import pybase64
    except ImportError:  # pragma: no cover - pybase64 is a dependency on CPython only
        return _strict_base64(text)
    return pybase64.b64decode(text, validate=True)
