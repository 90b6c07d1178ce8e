"""Making a signing key pair: a PKCS8 private key and its SubjectPublicKeyInfo public key.

Keys are generated and serialised by ``cryptography`` with the parameters
securesystemslib signs with by default: ed25519; ecdsa on NIST P-256
(``ecdsa-sha2-nistp256``); RSA 3072 bits (``rsassa-pss-sha256``). The private
key is written with mode 0600 (created so, never widened), unencrypted or
encrypted with a password (``BestAvailableEncryption``); the public key next
to it as ``NAME.pub``. Existing files are replaced only when asked, and then
atomically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.files import git_work_tree, write_atomically
from policy_engine.keys import PublicKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

KEY_TYPES = ("ed25519", "ecdsa", "rsa")
RSA_BITS = 3072
PRIVATE_MODE = 0o600
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class KeyPair:
    """What was written: the two files and the public key with its computed ids."""

    name: str
    private_path: Path
    public_path: Path
    public: PublicKey
    encrypted: bool


def check_name(name: str) -> None:
    """A key name is one file name: letters, digits, ``.``, ``_``, ``-``; no folder."""
    if not _NAME.match(name) or name.endswith(".pub"):
        raise InputError(
            f"key name `{name}` must be a plain file name (letters, digits, `.`, `_`, `-`, "
            "not ending in `.pub`); give the folder with --dir"
        )


def generate(key_type: str) -> PrivateKeyTypes:
    """A new ``cryptography`` private key of ``key_type`` (see :data:`KEY_TYPES`)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise InputError(f"unknown key type `{key_type}`; expected one of {', '.join(KEY_TYPES)}")


def private_pem(private_key: PrivateKeyTypes, password: bytes | None) -> bytes:
    """PKCS8 PEM of ``private_key``, encrypted when a password is given."""
    from cryptography.hazmat.primitives import serialization as s

    encryption = s.BestAvailableEncryption(password) if password else s.NoEncryption()
    return private_key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, encryption)


def public_pem(private_key: PrivateKeyTypes) -> bytes:
    """SubjectPublicKeyInfo PEM of the public half of ``private_key``."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def write_key_pair(
    folder: Path,
    name: str,
    key_type: str,
    password: bytes | None = None,
    force: bool = False,
    public_folder: Path | None = None,
) -> KeyPair:
    """Generate a key pair and write ``folder/name`` (0600) and ``public_folder/name.pub``
    (``public_folder`` defaults to ``folder``).

    Without ``force``, an existing file of either name, or a private key inside a git
    work tree, is an :class:`InputError` and nothing is written.
    """
    check_name(name)
    public_folder = folder if public_folder is None else public_folder
    private_path, public_path = folder / name, public_folder / f"{name}.pub"
    if not force:
        _refuse_in_work_tree(folder)
        for path in (private_path, public_path):
            if os.path.lexists(path):
                raise InputError("already exists; use --force to replace the key pair", str(path))
    for made in (folder, public_folder):
        _make_folder(made)
    key = generate(key_type)
    _write(private_path, private_pem(key, password), PRIVATE_MODE, force)
    _write(public_path, public_pem(key), 0o644, force)
    from policy_engine.produce.signing import public_key_of

    return KeyPair(name, private_path, public_path, public_key_of(key), password is not None)


def _refuse_in_work_tree(folder: Path) -> None:
    top = git_work_tree(folder)
    if top is not None:
        raise InputError(
            f"the private key would be inside the git work tree `{top}`, where a commit could "
            "publish it; keep it in the user key folder (the default) or give --force",
            str(folder),
        )


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror}", str(folder)) from None


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Write ``data`` to a file created with ``mode``: exclusively, or atomically replaced."""
    try:
        if not force:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with open(fd, "wb") as handle:
                handle.write(data)
            return
        write_atomically(path, data, mode)
    except FileExistsError:
        raise InputError("already exists; use --force to replace the key pair", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot write the key: {exc.strerror}", str(path)) from None


def policy_name(name: str) -> str:
    """``name`` as a policy identifier (``data-engineer`` -> ``data_engineer``)."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return ident if not ident[0].isdigit() else f"key_{ident}"


def policy_line(pair: KeyPair, repo: Path = Path(".")) -> str:
    """The declaration to paste in a policy: the public key's path relative to ``repo`` (as
    policies name keys), or absolute when the public key is outside it."""
    public, root = pair.public_path.absolute(), repo.absolute()
    shown = public.relative_to(root) if public.is_relative_to(root) else public
    return f'key {policy_name(pair.name)} from "{shown.as_posix()}"'
