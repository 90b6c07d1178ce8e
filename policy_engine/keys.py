"""Public keys the policy trusts: loading PEM and securesystemslib JSON, computing key ids.

Key ids are always computed from the key material, never read from the input:
the modern securesystemslib id, and the legacy in-toto id (which also hashes
``keyid_hash_algorithms``) so that links signed by either tool can be matched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine import inputs
from policy_engine.errors import InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from securesystemslib.signer import Key

MAX_KEY_BYTES = 64 * 1024
MAX_ROOT_BYTES = 1024 * 1024  # a Sigstore trusted root or client trust configuration
_LEGACY_HASH_ALGORITHMS = ["sha256", "sha512"]
_ED25519 = "ed25519"


class KeyLoadError(ValueError):
    """A key file is missing, too large, or not a public key we understand."""


@dataclass(frozen=True)
class PublicKey:
    """A trusted public key: its computed ids and the securesystemslib key that verifies.

    ``openpgp`` is set for a GPG key (see :mod:`policy_engine.gpgkeys`): the
    material, with its subkeys, that OpenPGP signatures are verified with.
    """

    keyid: str
    aliases: frozenset[str]
    keytype: str
    scheme: str
    key: Key
    openpgp: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def ids(self) -> frozenset[str]:
        return self.aliases | {self.keyid}


def verify_with(key: PublicKey, sig: str, payload: bytes) -> bool:
    """Whether ``sig`` (hex) verifies over ``payload`` with ``key`` (securesystemslib's verdict;
    an ed25519 key through its ``cryptography`` key object, built once)."""
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


def _canonical_id(document: dict[str, Any]) -> str:
    from securesystemslib.formats import encode_canonical

    # Typed `str | None`: None only when an output_function is given.
    return hashlib.sha256(encode_canonical(document).encode("utf-8")).hexdigest()  # type: ignore[union-attr]


def _from_parts(keytype: str, scheme: str, public: str, written: str = "") -> PublicKey:
    """A key from its canonical material; ``written``, the material as the file had it,
    adds the ids others may have computed from it (never the primary id)."""
    from securesystemslib.signer import SSlibKey

    keyval = {"public": public}
    keyid = _canonical_id({"keytype": keytype, "scheme": scheme, "keyval": keyval})
    aliases = set()
    # Legacy in-toto ids hash `keyid_hash_algorithms` too, and a PEM without its final newline.
    for variant in {public, public.strip(), written or public}:
        base = {"keytype": keytype, "scheme": scheme, "keyval": {"public": variant}}
        aliases.add(_canonical_id(base))
        aliases.add(_canonical_id({**base, "keyid_hash_algorithms": _LEGACY_HASH_ALGORITHMS}))
    aliases.discard(keyid)
    key = SSlibKey(keyid, keytype, scheme, keyval)
    return PublicKey(keyid, frozenset(aliases), keytype, scheme, key)


def parse_public_key(data: bytes) -> PublicKey:
    """Parse a PEM SubjectPublicKeyInfo or a securesystemslib JSON public key."""
    text = data.decode("utf-8", errors="replace").strip()
    # PEM may follow explanatory text (as certtool writes it); a JSON key is never PEM.
    block = -1 if text.startswith("{") else text.find("-----BEGIN")
    if block >= 0 and text.startswith("-----BEGIN PUBLIC KEY-----", block):
        return _from_pem(data if block == 0 else text[block:].encode())
    if block >= 0:
        raise KeyLoadError("not a public key (only `BEGIN PUBLIC KEY` PEM blocks are trusted)")
    try:
        document = inputs.loads(text, "key")
    except InputError as exc:
        raise KeyLoadError(f"neither PEM nor JSON: {exc.message}") from None
    return _from_json(document)


def _from_pem(data: bytes) -> PublicKey:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey

    try:
        crypto_key = load_pem_public_key(data)
        sslib = SSlibKey.from_crypto(crypto_key)
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(f"unreadable PEM public key: {exc}") from None
    public = sslib.keyval["public"]
    return _from_parts(sslib.keytype, sslib.scheme, public)


def _from_json(document: Any) -> PublicKey:
    if not isinstance(document, dict):
        raise KeyLoadError("a JSON key must be an object")
    try:
        keytype, scheme = str(document["keytype"]), str(document["scheme"])
        keyval = document["keyval"]
        public = keyval["public"]
    except (KeyError, TypeError):
        raise KeyLoadError("a JSON key needs `keytype`, `scheme` and `keyval.public`") from None
    if keyval.get("private"):
        raise KeyLoadError("this JSON key holds a private key; give the public key only")
    if not isinstance(public, str) or not public:
        raise KeyLoadError("`keyval.public` must be a non-empty string")
    return _from_parts(keytype, scheme, _canonical_material(keytype, public), public)


def _canonical_material(keytype: str, public: str) -> str:
    """One key, one encoding: ed25519 as lower-case hex, other keys re-encoded as PEM, so
    that one key written two ways computes one id."""
    if keytype == "ed25519":
        try:
            raw = bytes.fromhex(public)
        except ValueError:
            raise KeyLoadError("an ed25519 `keyval.public` must be hex") from None
        if len(raw) != 32:
            raise KeyLoadError("an ed25519 `keyval.public` must be 32 bytes")
        return raw.hex()
    if public.lstrip().startswith("-----BEGIN PUBLIC KEY-----"):
        return _from_pem(public.encode()).key.keyval["public"]  # type: ignore[no-any-return]
    return public


def load_public_key(path: Path) -> PublicKey:
    """Read and parse a public key file; raises :class:`KeyLoadError` with a clear reason."""
    return parse_public_key(read_key_file(path))


def read_key_file(path: Path) -> bytes:
    """The bytes of a key file of at most :data:`MAX_KEY_BYTES`; :class:`KeyLoadError` if not."""
    return _bounded_bytes(path, "key")


@dataclass(frozen=True)
class Identity:
    """A keyless Sigstore signer: the certificate's identity and its OpenID Connect issuer.

    ``root`` is the Sigstore trusted root (or client trust configuration) to verify
    against, as bytes; empty means the public-good root the ``sigstore`` package ships.
    Its id is computed from the identity and the issuer.
    """

    identity: str
    issuer: str
    root: bytes = b""

    @property
    def keyid(self) -> str:
        document = {"identity": self.identity, "issuer": self.issuer}
        return "sigstore:" + _canonical_id(document)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset({self.keyid})


@dataclass(frozen=True)
class Authority:
    """A certificate authority: certificates that chain to it sign as it.

    ``pem`` holds one or more PEM certificates (the root first, then any
    intermediates the policy trusts); the id is the sha256 of their DER bytes.
    """

    pem: bytes
    fingerprint: str

    @property
    def keyid(self) -> str:
        return "x509:" + self.fingerprint

    @property
    def ids(self) -> frozenset[str]:
        return frozenset({self.keyid})


Trusted = PublicKey | Identity | Authority
"""Anything a role may hold: a public key, a Sigstore identity or a certificate authority."""


def _bounded_bytes(path: Path, what: str, limit: int = MAX_KEY_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :mod:`policy_engine.inputs`)."""
    try:
        return inputs.read_bytes(path, str(path), limit, what=f"{what} file")
    except InputError as exc:
        raise KeyLoadError(exc.message) from None


def load_authority(path: Path) -> Authority:
    """Read a PEM file of CA certificates; raises :class:`KeyLoadError` with a clear reason."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    data = _bounded_bytes(path, "certificate", MAX_ROOT_BYTES)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise KeyLoadError("not a PEM certificate (`BEGIN CERTIFICATE`)") from None
    der = b"".join(c.public_bytes(Encoding.DER) for c in certificates)
    return Authority(data, hashlib.sha256(der).hexdigest())


def load_identity(identity: str, issuer: str, root: Path | None) -> Identity:
    """A Sigstore identity, with the trusted root file read when one is named."""
    if not identity or not issuer:
        raise KeyLoadError("an identity needs a non-empty identity and issuer")
    data = b"" if root is None else _bounded_root(root)
    return Identity(identity, issuer, data)


def _bounded_root(path: Path) -> bytes:
    data = _bounded_bytes(path, "trusted root", MAX_ROOT_BYTES)
    try:
        inputs.loads(data, "trusted root")
    except InputError:
        raise KeyLoadError("the trusted root is not JSON") from None
    return data


class Keyring:
    """The trusted keys by every id they answer to, with the policy's name for each.

    ``by_name`` holds the public keys (they verify in-toto signatures); Sigstore
    identities and certificate authorities, which verify model signatures only,
    are in ``identities`` and ``authorities``.
    """

    def __init__(self, keys: Mapping[str, Trusted]) -> None:
        self.by_name = {n: k for n, k in keys.items() if isinstance(k, PublicKey)}
        self.identities = {n: k for n, k in keys.items() if isinstance(k, Identity)}
        self.authorities = {n: k for n, k in keys.items() if isinstance(k, Authority)}
        self._by_id: dict[str, tuple[str, PublicKey]] = {}
        for name, key in sorted(self.by_name.items()):
            for keyid in key.ids:
                self._by_id.setdefault(keyid, (name, key))

    def lookup(self, keyid: str) -> tuple[str, PublicKey] | None:
        return self._by_id.get(keyid)
