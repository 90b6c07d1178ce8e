"""OpenPGP (GPG) keys as in-toto uses them: layout functionary keys and ``--gpg`` key ids.

A GPG key is read from in-toto's key format (``type``, ``method``, ``hashes``,
``keyval``, ``subkeys``), exported from a keyring with the ``gpg`` binary, or
read (with the binary too) from an ASCII-armored export (``gpg --armor --export``)
that a policy names as a key file (:func:`load_key`);
signatures (``signature`` and ``other_headers``) are verified with
securesystemslib's OpenPGP support, which needs no binary. The subkey rules are
in-toto's: a master key authorises its subkeys (a signature by any of them is
the master's, so subkeys of one master count once), while a subkey named on its
own authorises itself only. A signature by an expired key does not verify.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policy_engine.errors import InputError
from policy_engine.keys import KeyLoadError, PublicKey, parse_public_key, read_key_file

ARMORED = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
GPG_TIMEOUT = 10  # seconds, for each run of the gpg binary


def is_gpg(material: Mapping[str, Any]) -> bool:
    """Whether in-toto key material is an OpenPGP key."""
    return "method" in material or "subkeys" in material or "hashes" in material


def from_material(keyid: str, material: Mapping[str, Any]) -> dict[str, PublicKey]:
    """The usable keys of a layout's GPG key ``keyid``: the key, and each of its subkeys."""
    if str(material.get("keyid", "")).lower() != keyid.lower():
        raise KeyLoadError(f"the GPG key's own id is `{material.get('keyid')}`, not `{keyid}`")
    master = _public(dict(material))
    keys = {keyid: master}
    for sub_id, sub in dict(material.get("subkeys") or {}).items():
        if isinstance(sub, dict) and sub.get("keyid") == sub_id:
            keys.setdefault(sub_id, _public(dict(sub), sub_id, master.openpgp))
    return keys


def _public(
    material: dict[str, Any], keyid: str = "", within: Mapping[str, Any] | None = None
) -> PublicKey:
    """A GPG key; a subkey (``keyid``) is verified through its master's material ``within``."""
    from securesystemslib.signer import GPGKey

    required = ("keyid", "type", "method", "keyval")
    if not all(field in material for field in required):
        raise KeyLoadError(f"a GPG key needs {', '.join(required)}")
    own = keyid or material["keyid"]
    subkeys = frozenset() if keyid else frozenset(material.get("subkeys") or {})
    key = GPGKey(own, str(material["type"]), str(material["method"]), material["keyval"])
    return PublicKey(own, subkeys, key.keytype, key.scheme, key, within or material)


def principal(key: PublicKey) -> str:
    """Who a signature by ``key`` counts as: a GPG subkey's master key, else the key's own id."""
    if key.openpgp is not None:
        return str(key.openpgp.get("keyid", key.keyid))
    return key.keyid


def verify(key: PublicKey, signature: Mapping[str, str], payload: bytes) -> bool:
    """Whether the OpenPGP ``signature`` (keyid, signature, other_headers) verifies with ``key``."""
    from securesystemslib._gpg import functions
    from securesystemslib._gpg.exceptions import KeyExpirationError

    if key.openpgp is None or signature["keyid"] not in key.ids:
        return False
    try:
        checked = functions.verify_signature(dict(signature), dict(key.openpgp), payload)  # type: ignore[no-untyped-call]
        return bool(checked)
    except (KeyExpirationError, ValueError, KeyError, TypeError):
        return False
    except Exception:
        return False


def export(keyids: tuple[str, ...], home: str | None) -> dict[str, PublicKey]:
    """The keys ``keyids`` from the GPG keyring at ``home``; ``InputError`` when it cannot."""
    if not _gpg_binary():
        raise InputError("GPG keys (`--gpg`) need a gpg binary, and none is on the PATH")
    from securesystemslib._gpg import functions

    keys: dict[str, PublicKey] = {}
    for keyid in keyids:
        try:
            material = functions.export_pubkey(keyid, homedir=home)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise InputError(f"cannot export GPG key `{keyid}`: {exc}") from None
        keys[material["keyid"]] = _public(material)
    return keys


def load_key(path: Path) -> PublicKey:
    """A key file a policy names: an ASCII-armored OpenPGP export (:func:`from_armored`), or
    what :func:`policy_engine.keys.parse_public_key` reads (PEM, securesystemslib JSON)."""
    data = read_key_file(path)
    return from_armored(data) if data.lstrip().startswith(ARMORED) else parse_public_key(data)


def from_armored(data: bytes) -> PublicKey:
    """The one OpenPGP key of an armored export, with its subkeys (in-toto's subkey rules).

    The gpg binary reads it into a throwaway home, from which securesystemslib exports
    it in in-toto's format, as for ``--gpg``; ``KeyLoadError`` without a binary, when
    gpg refuses the file, or when it holds other than one key.
    """
    import tempfile  # only an armored key needs it: not imported on verify's common path

    from securesystemslib._gpg import functions

    gpg = _gpg_binary()
    if not gpg:
        raise KeyLoadError("an OpenPGP key file is read with a gpg binary, and none is on the PATH")
    with tempfile.TemporaryDirectory(prefix="mlpolicy-gpg-") as home:
        _run(gpg, home, ["--import"], data)
        listing = _run(gpg, home, ["--with-colons", "--fingerprint", "--list-keys"], b"")
        primaries = _primary_fingerprints(listing.decode("utf-8", "replace"))
        if len(primaries) != 1:
            raise KeyLoadError(f"an OpenPGP key file must hold one key, not {len(primaries)}")
        try:
            material = functions.export_pubkey(primaries[0], homedir=home)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise KeyLoadError(f"unreadable OpenPGP key: {exc}") from None
    return _public(material)


def _gpg_binary() -> str:
    """The gpg command securesystemslib runs (``$GNUPG``, ``gpg2`` or ``gpg``); empty if none."""
    from securesystemslib._gpg.constants import gpg_command

    return gpg_command()


def _run(gpg: str, home: str, args: list[str], given: bytes) -> bytes:
    """gpg's standard output for ``args`` in the keyring ``home``; ``KeyLoadError`` on failure."""
    argv = [gpg, "--homedir", home, "--batch", "--no-tty", "--no-autostart", "--quiet", *args]
    try:
        done = subprocess.run(argv, input=given, capture_output=True, timeout=GPG_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KeyLoadError(f"gpg could not be run: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise KeyLoadError(f"gpg cannot read the key file: {reason[-1] if reason else 'failed'}")
    return done.stdout


def _primary_fingerprints(listing: str) -> list[str]:
    """The fingerprint of each primary key in gpg's ``--with-colons`` listing."""
    found: list[str] = []
    records = [line.split(":") for line in listing.splitlines()]
    for record, following in itertools.pairwise(records):
        if record[0] == "pub" and following[0] == "fpr" and len(following) > 9:
            found.append(following[9].lower())
    return found
