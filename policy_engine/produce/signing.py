"""Private keys for signing evidence: read a PKCS8 PEM into a securesystemslib ``CryptoSigner``.

The signer's key id is the one :mod:`policy_engine.keys` computes from the
public key material, so what the engine trusts (``key NAME from "NAME.pub"``)
and what the signature names always agree. A key file is bounded in size; an
encrypted key needs its password, read from an environment variable so that it
never appears on a command line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.keys import MAX_KEY_BYTES, KeyLoadError, PublicKey, parse_public_key

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner


def password_from_env(variable: str | None) -> bytes | None:
    """The password in environment variable ``variable`` (None: no variable given)."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise InputError(f"environment variable `{variable}` is not set or empty")
    return value.encode("utf-8")


def read_private_pem(path: Path) -> bytes:
    """The bytes of a private key file, bounded by :data:`~policy_engine.keys.MAX_KEY_BYTES`."""
    try:
        if path.stat().st_size > MAX_KEY_BYTES:
            raise InputError(f"key file is larger than {MAX_KEY_BYTES} bytes", str(path))
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("private key file not found", str(path)) from None
    except OSError as exc:
        raise InputError(f"private key file unreadable: {exc.strerror}", str(path)) from None


def public_key_of(private_key: object) -> PublicKey:
    """The public half of a ``cryptography`` private key, with the ids the engine computes."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pem = private_key.public_key().public_bytes(  # type: ignore[attr-defined]
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    return parse_public_key(pem)


def load_signer(path: Path, password: bytes | None = None) -> CryptoSigner:
    """A ``CryptoSigner`` for the PEM private key at ``path``; its key id is computed.

    Raises :class:`InputError` (exit 2) for a missing, unreadable, encrypted
    (without password), wrongly decrypted or unsupported key.
    """
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    data = read_private_pem(path)
    if b"PRIVATE KEY-----" not in data:
        raise InputError("not a PEM private key (`BEGIN PRIVATE KEY`)", str(path))
    try:
        private = load_pem_private_key(data, password=password)
    except TypeError:
        if password is None:
            raise InputError(
                "the private key is encrypted: give its password with --password-env VAR",
                str(path),
            ) from None
        raise InputError(
            "the private key is not encrypted: drop --password-env", str(path)
        ) from None
    except ValueError as exc:
        raise InputError(f"cannot read the private key: {exc}", str(path)) from None
    try:
        public = public_key_of(private)
        return CryptoSigner(private, public.key)  # type: ignore[arg-type]  # never a GPG key
    except (KeyLoadError, ValueError) as exc:
        raise InputError(f"unsupported private key: {exc}", str(path)) from None
