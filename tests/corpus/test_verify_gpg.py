"""`mlpolicy verify` with GPG keys: in-toto's cases (MANIFEST.md §1 cases 21-29, 39, 43).

The keyring is in-toto's ``gpg_keyrings/rsa``, copied (gpg writes into its home).
Signing needs the gpg binary: those cases are skipped with the reason where it
is absent. Verifying OpenPGP signatures needs no binary (the demo's pre-signed
links), exporting ``--gpg`` keys does (exit 2 without it).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from securesystemslib.formats import encode_canonical
from test_verify_corpus import IN_TOTO, PEMS, SKIP, empty_layout, run, sign, template, write

from policy_engine.cli.main import main
from tests.gpgkeyring import keyring_copy

KEYRING = IN_TOTO / "gpg_keyrings" / "rsa"
pytestmark = pytest.mark.skipif(not KEYRING.is_dir(), reason="shared corpus not present")
needs_gpg = pytest.mark.skipif(
    shutil.which("gpg") is None, reason="signing with GPG keys needs a gpg binary"
)
MASTER = "8465a1e2e0fb2b40adb2478e18fb3f537e0c8a17"  # ...0C8A17, with signing subkey SUB
SUB = "c5a0abe6ec19d0d65f85e2c39be9df5131d924e9"
PLAIN = "7b3abb26b97b655ab9296bd15b0bd02e1c768c43"  # ...768C43, no signing subkey
TWO_SUBS = "40e692c3ae03f6b88dff95d0d2c9fe930766998d"  # two signing subkeys
SUB_A, SUB_B = (
    "35830aa342b9fea0178876b02b25647ff0ef59fe",
    "732d722578f71a9ec967a64bfead922c91eb7351",
)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A copy of the keyring; the gpg-agent that signing starts in it is stopped after."""
    with keyring_copy(KEYRING, tmp_path / "gnupg") as folder:
        yield folder


def gpg_sign(document: dict[str, Any], keyid: str, home: Path) -> dict[str, Any]:
    from securesystemslib._gpg import functions

    data = encode_canonical(document).encode()  # type: ignore[union-attr]
    signature = functions.create_signature(data, keyid, str(home))  # type: ignore[no-untyped-call]
    return {"signed": document, "signatures": [signature]}


def exported(keyid: str, home: Path) -> dict[str, Any]:
    from securesystemslib._gpg import functions

    return dict(functions.export_pubkey(keyid, str(home)))  # type: ignore[no-untyped-call]


def link(name: str) -> dict[str, Any]:
    return {"_type": "link", "name": name, "command": [], "materials": {}, "products": {},
            "byproducts": {}, "environment": {}}  # fmt: skip


def subkey_case(
    tmp_path: Path, keys: dict[str, Any], pubkeys: list[str], signed_by: list[str], home: Path
) -> int:
    """A one-step layout (signed with the rsa pem) and links signed by GPG keys ``signed_by``,
    filed under the authorised ids in order."""
    layout = empty_layout()
    layout["keys"] = keys
    layout["steps"] = [{"_type": "step", "name": "foo", "pubkeys": pubkeys,
                        "threshold": len(signed_by), "expected_command": [],
                        "expected_materials": [], "expected_products": []}]  # fmt: skip
    root = write(tmp_path / "root.layout", sign(layout, ["rsa"]))
    links = tmp_path / "links"
    for authorised, signer in zip(pubkeys, signed_by, strict=True):
        write(links / f"foo.{authorised[:8]}.link", gpg_sign(link("foo"), signer, home))
    return run(root, [PEMS["rsa"]], links)


@needs_gpg
@pytest.mark.parametrize(
    ("case", "signer", "authorised", "key", "expected"),
    [
        ("21 M-M-M", PLAIN, PLAIN, PLAIN, 0),
        ("22 S-M-M", MASTER, MASTER, MASTER, 0),  # gpg signs with the subkey
        ("23 S-S-M", MASTER, SUB, MASTER, 0),
        ("24 S-S-S", MASTER, SUB, SUB, 0),
        ("25 S-M-S", MASTER, MASTER, SUB, 1),
    ],
)
def test_cases_21_to_27_subkey_rules(
    tmp_path: Path, home: Path, case: str, signer: str, authorised: str, key: str, expected: int
) -> None:
    material = exported(MASTER if key == SUB else key, home)
    if key == SUB:
        material = material["subkeys"][SUB]
    code = subkey_case(tmp_path, {key: material}, [authorised], [signer], home)
    assert code == expected, case


@needs_gpg
def test_case_28_subkeys_of_one_master_count_once(tmp_path: Path, home: Path) -> None:
    keys = {TWO_SUBS: exported(TWO_SUBS, home)}
    signers = [f"{SUB_A}!", f"{SUB_B}!"]  # `!`: exactly this subkey
    assert subkey_case(tmp_path, keys, [SUB_A, SUB_B], signers, home) == 1


EXPIRED = "e8ac80c924116dabb51d4b987cb07d6d2c199c7c"  # a master key that expired 2019-03-26
BEFORE_EXPIRY = "1553540000"  # 2019-03-25 18:53 UTC


@needs_gpg
def test_case_29_expired_key(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gpg refuses to sign with an expired key today, so the link is signed by the master
    key itself (``!``) at a time before its expiry (gpg's own ``--faked-system-time``,
    through securesystemslib's ``$GNUPG`` command). Verified now, the signature does
    not count (in-toto raises KeyExpirationError for it) and the threshold fails."""
    from securesystemslib._gpg import constants

    keys = {EXPIRED: exported(EXPIRED, home)}
    monkeypatch.setattr(constants, "GPG_ENV_COMMAND", f"gpg --faked-system-time {BEFORE_EXPIRY}")
    layout = empty_layout()
    layout["keys"] = keys
    layout["steps"] = [{"_type": "step", "name": "foo", "pubkeys": [EXPIRED], "threshold": 1,
                        "expected_command": [], "expected_materials": [],
                        "expected_products": []}]  # fmt: skip
    root = write(tmp_path / "root.layout", sign(layout, ["rsa"]))
    signed = gpg_sign(link("foo"), f"{EXPIRED}!", home)
    monkeypatch.undo()
    write(tmp_path / "links" / f"foo.{EXPIRED[:8]}.link", signed)
    assert signed["signatures"][0]["keyid"] == EXPIRED
    assert run(root, [PEMS["rsa"]], tmp_path / "links") == 1


def gpg_layout(tmp_path: Path, home: Path) -> Path:
    """The demo_files_gpg template, signed with GPG key 0C8A17 (its signing subkey)."""
    document = json.loads((IN_TOTO / "demo_files_gpg" / "demo.layout.template").read_text())
    signed = document["signed"]
    signed["expires"] = "2100-01-01T00:00:00Z"
    return write(tmp_path / "root.layout", gpg_sign(signed, MASTER, home))


def verify_gpg(layout: Path, keyid: str, home: Path, **env: str) -> int:
    args = ["verify", "--layout", str(layout), "--gpg", keyid, "--gpg-home", str(home)]
    link_dir = ["--link-dir", str(IN_TOTO / "demo_files_gpg"), SKIP]
    return CliRunner(env=env or None).invoke(main, [*args, *link_dir]).exit_code


@needs_gpg
@pytest.mark.parametrize(("case", "keyid", "expected"), [(39, MASTER, 0), (43, PLAIN, 1)])
def test_cases_39_and_43_gpg_layout_keys(
    tmp_path: Path, home: Path, case: int, keyid: str, expected: int
) -> None:
    assert verify_gpg(gpg_layout(tmp_path, home), keyid.upper(), home) == expected, case


@needs_gpg
def test_without_a_gpg_binary_gpg_keys_exit_2(tmp_path: Path, home: Path) -> None:
    layout = gpg_layout(tmp_path, home)
    assert verify_gpg(layout, MASTER, home, PATH=str(tmp_path / "empty")) == 2


def test_gpg_functionaries_verify_without_a_binary(tmp_path: Path) -> None:
    """demo_files_gpg: its links are signed by the GPG keys its steps authorise."""
    layout_doc = template()
    gpg_doc = json.loads((IN_TOTO / "demo_files_gpg" / "demo.layout.template").read_text())
    layout_doc.update(keys=gpg_doc["signed"]["keys"], steps=gpg_doc["signed"]["steps"])
    layout = write(tmp_path / "root.layout", sign(layout_doc, ["rsa"]))
    assert run(layout, [PEMS["rsa"]], IN_TOTO / "demo_files_gpg", SKIP) == 0
