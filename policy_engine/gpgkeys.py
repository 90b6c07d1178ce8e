"""OpenPGP (GPG) keys as in-toto uses them: layout functionary keys and ``--gpg`` key ids.

A GPG key is read from in-toto's key format (``type``, ``method``, ``hashes``,
``keyval``, ``subkeys``) or exported from a keyring with the ``gpg`` binary;
signatures (``signature`` and ``other_headers``) are verified with
securesystemslib's OpenPGP support, which needs no binary. The subkey rules are
in-toto's: a master key authorises its subkeys (a signature by any of them is
the master's, so subkeys of one master count once), while a subkey named on its
own authorises itself only. A signature by an expired key does not verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy_engine.errors import InputError
from policy_engine.keys import KeyLoadError, PublicKey


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
    import shutil

    if shutil.which("gpg") is None and shutil.which("gpg2") is None:
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
