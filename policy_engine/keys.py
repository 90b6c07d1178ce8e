"""Public keys the policy trusts: loading PEM and securesystemslib JSON, computing key ids.

Key ids are always computed from the key material, never read from the input:
the modern securesystemslib id, and the legacy in-toto id (which also hashes
``keyid_hash_algorithms``) so that links signed by either tool can be matched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from securesystemslib.signer import SSlibKey

MAX_KEY_BYTES = 64 * 1024
_LEGACY_HASH_ALGORITHMS = ["sha256", "sha512"]


class KeyLoadError(ValueError):
    """A key file is missing, too large, or not a public key we understand."""


@dataclass(frozen=True)
class PublicKey:
    """A trusted public key: its computed ids and the securesystemslib key that verifies."""

    keyid: str
    aliases: frozenset[str]
    keytype: str
    scheme: str
    key: SSlibKey

    @property
    def ids(self) -> frozenset[str]:
        return self.aliases | {self.keyid}


def _canonical_id(document: dict[str, Any]) -> str:
    from securesystemslib.formats import encode_canonical

    # Typed `str | None`: None only when an output_function is given.
    return hashlib.sha256(encode_canonical(document).encode("utf-8")).hexdigest()  # type: ignore[union-attr]


def _from_parts(keytype: str, scheme: str, public: str) -> PublicKey:
    from securesystemslib.signer import SSlibKey

    keyval = {"public": public}
    keyid = _canonical_id({"keytype": keytype, "scheme": scheme, "keyval": keyval})
    aliases = set()
    # Legacy in-toto ids hash `keyid_hash_algorithms` too, and a PEM without its final newline.
    for variant in {public, public.strip()}:
        base = {"keytype": keytype, "scheme": scheme, "keyval": {"public": variant}}
        aliases.add(_canonical_id(base))
        aliases.add(_canonical_id({**base, "keyid_hash_algorithms": _LEGACY_HASH_ALGORITHMS}))
    aliases.discard(keyid)
    key = SSlibKey(keyid, keytype, scheme, keyval)
    return PublicKey(keyid, frozenset(aliases), keytype, scheme, key)


def parse_public_key(data: bytes) -> PublicKey:
    """Parse a PEM SubjectPublicKeyInfo or a securesystemslib JSON public key."""
    text = data.decode("utf-8", errors="replace").strip()
    if text.startswith("-----BEGIN PUBLIC KEY-----"):
        return _from_pem(data)
    if text.startswith("-----BEGIN"):
        raise KeyLoadError("not a public key (only `BEGIN PUBLIC KEY` PEM blocks are trusted)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyLoadError(f"neither PEM nor JSON: {exc.msg} at line {exc.lineno}") from None
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
    return _from_parts(keytype, scheme, public)


def load_public_key(path: Path) -> PublicKey:
    """Read and parse a public key file; raises :class:`KeyLoadError` with a clear reason."""
    try:
        if path.stat().st_size > MAX_KEY_BYTES:
            raise KeyLoadError(f"key file is larger than {MAX_KEY_BYTES} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyLoadError("key file not found") from None
    except OSError as exc:
        raise KeyLoadError(f"key file unreadable: {exc.strerror}") from None
    return parse_public_key(data)


class Keyring:
    """The trusted keys by every id they answer to, with the policy's name for each."""

    def __init__(self, keys: dict[str, PublicKey]) -> None:
        self.by_name = dict(keys)
        self._by_id: dict[str, tuple[str, PublicKey]] = {}
        for name, key in sorted(keys.items()):
            for keyid in key.ids:
                self._by_id.setdefault(keyid, (name, key))

    def lookup(self, keyid: str) -> tuple[str, PublicKey] | None:
        return self._by_id.get(keyid)
