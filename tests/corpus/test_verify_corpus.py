"""`mlpolicy verify` gives in-toto's verdicts on in-toto's own cases (MANIFEST.md §1 and §2).

Signed layouts are built from ``demo.layout.template`` and the keys beside it, as
in-toto's tests build them (classic signed JSON, or DSSE); inline cases build
their links. Cases that need an inspection to run cannot be judged by mlpolicy
(it never runs commands): they are listed in :data:`SKIPPED` with the reason,
and their exit 2 is asserted instead. The GPG cases are in ``test_verify_gpg.py``.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.dsse import Envelope
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner

from policy_engine.cli.main import main
from policy_engine.keys import PublicKey, load_public_key
from policy_engine.supplychain import Options, load_chain, verify

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
IN_TOTO = CORPUS / "in-toto" / "tests"
DEMO = IN_TOTO / "demo_files"
GOLANG = CORPUS / "in-toto-golang" / "test" / "data"
pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"shared corpus not present at {CORPUS}"
)
SKIP = "--skip-inspections"  # the template's inspection `untar` would run a script
SKIPPED = {
    10: "the inspection must run (`expr 1 / 0`); mlpolicy never runs commands: exit 2",
    12: "the inspection's rules need its run; mlpolicy never runs commands: exit 2",
    # GPG cases (21-29, 39, 43) are in test_verify_gpg.py
}


# -- keys and signing ---------------------------------------------------------------------------
def pem_signer(name: str) -> tuple[CryptoSigner, Path]:
    """tests/pems keys (rsa, ecdsa, ed25519) or demo_files' RSA keys (alice, bob, carl)."""
    if name in ("rsa", "ecdsa", "ed25519"):
        private, public = IN_TOTO / "pems" / f"{name}_private_unencrypted.pem", None
        public = IN_TOTO / "pems" / f"{name}_public.pem"
    else:
        private, public = DEMO / name, DEMO / f"{name}.pub"
    if name == "danny":
        material = json.loads(private.read_text())
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(material["keyval"]["private"]))
        return CryptoSigner(key, load_public_key(public).key), public
    key = load_pem_private_key(private.read_bytes(), None)
    return CryptoSigner(key, load_public_key(public).key), public  # type: ignore[arg-type]


def public(name: str) -> PublicKey:
    return load_public_key(pem_signer(name)[1])


def sign(payload: dict[str, Any], names: list[str], dsse: bool = False) -> dict[str, Any]:
    """``payload`` signed by each named key, as a Metablock or a DSSE envelope."""
    signers = [pem_signer(n)[0] for n in names]
    if dsse:
        body = json.dumps(payload).encode()
        envelope = Envelope(body, "application/vnd.in-toto+json", {})
        sigs = [s.sign(envelope.pae()) for s in signers]
        return {
            "payload": base64.b64encode(body).decode(),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(bytes.fromhex(s.signature)).decode()}
                for s in sigs
            ],
        }
    data = encode_canonical(payload).encode()  # type: ignore[union-attr]
    sigs = [s.sign(data) for s in signers]
    return {"signed": payload, "signatures": [{"keyid": s.keyid, "sig": s.signature} for s in sigs]}


def template(**changes: Any) -> dict[str, Any]:
    layout: dict[str, Any] = json.loads((DEMO / "demo.layout.template").read_text())["signed"]
    layout["expires"] = "2100-01-02T03:04:06Z"
    layout.update(changes)
    return layout


def empty_layout() -> dict[str, Any]:
    return {
        "_type": "layout",
        "expires": "2100-01-01T00:00:00Z",
        "readme": "",
        "keys": {},
        "steps": [],
        "inspect": [],
    }


def write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def demo_links(folder: Path, source: Path = DEMO) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for link in source.glob("*.link"):
        shutil.copy(link, folder / link.name)
    return folder


def run(layout: Path, keys: list[Path], link_dir: Path, *extra: str) -> int:
    args = ["verify", "--layout", str(layout), "--verification-keys", *map(str, keys)]
    result = CliRunner().invoke(main, [*args, "--link-dir", str(link_dir), *extra])
    return result.exit_code


def key_dict(name: str) -> tuple[str, dict[str, Any]]:
    key = public(name)
    return key.keyid, {"keyid": key.keyid, **key.key.to_dict()}


# -- §1: the template, signed (cases 1-14, 34-42) -------------------------------------------------
def layout_case(
    tmp_path: Path,
    signers: list[str],
    mutate: Callable[[dict[str, Any]], None] | None = None,
    dsse: bool = False,
    **changes: Any,
) -> Path:
    document = sign(template(**changes), signers, dsse)
    if mutate:
        mutate(document)
    return write(tmp_path / "root.layout", document)


PEMS = {n: IN_TOTO / "pems" / f"{n}_public.pem" for n in ("rsa", "ecdsa", "ed25519")}


@pytest.mark.parametrize(
    ("case", "signers", "keys", "expected"),
    [
        (1, ["rsa"], ["rsa"], 0),
        (2, ["rsa", "ecdsa"], ["rsa", "ecdsa"], 0),
        (6, ["rsa"], ["ecdsa"], 1),
        (40, ["rsa", "ed25519", "ecdsa"], ["rsa", "ed25519", "ecdsa"], 0),
        (41, [], ["ed25519"], 1),
    ],
)
def test_template_signatures(
    tmp_path: Path, case: int, signers: list[str], keys: list[str], expected: int
) -> None:
    layout = layout_case(tmp_path, signers)
    assert run(layout, [PEMS[k] for k in keys], DEMO, SKIP) == expected, case


def test_case_7_modified_after_signing(tmp_path: Path) -> None:
    layout = layout_case(tmp_path, ["rsa"], lambda d: d["signed"].update(readme="changed"))
    assert run(layout, [PEMS["rsa"]], DEMO, SKIP) == 1


def test_case_14_signature_without_sig(tmp_path: Path) -> None:
    layout = layout_case(tmp_path, ["rsa"], lambda d: d["signatures"][0].pop("sig"))
    assert run(layout, [PEMS["rsa"]], DEMO, SKIP) == 1


@pytest.mark.parametrize(
    ("case", "at", "expected"),
    [(4, "2025-01-02T03:04:05", 0), (5, "2025-01-02T03:04:06", 1), (8, "2026-01-01T00:00:00", 1)],
)
def test_expiry(tmp_path: Path, case: int, at: str, expected: int) -> None:
    layout = layout_case(tmp_path, ["rsa"], expires="2025-01-02T03:04:06Z")
    assert run(layout, [PEMS["rsa"]], DEMO, SKIP, "--at", at) == expected, case


def test_case_3_empty_layout(tmp_path: Path) -> None:
    layout = write(tmp_path / "root.layout", sign(empty_layout(), ["rsa"]))
    assert run(layout, [PEMS["rsa"]], tmp_path) == 0


def test_case_13_no_keys(tmp_path: Path) -> None:
    """in-toto's library fails an unsigned layout with no keys; its CLI (and ours) exit 2."""
    layout = write(tmp_path / "root.layout", {"signed": empty_layout(), "signatures": []})
    assert run(layout, [], tmp_path) == 2
    outcome = verify(
        load_chain(layout, "root.layout", {}, tmp_path), Options(datetime.now(timezone.utc))
    )
    assert [p.code for p in outcome.failures] == ["layout-unsigned"]


def test_case_9_missing_link(tmp_path: Path) -> None:
    links = demo_links(tmp_path / "links")
    (links / "package.2f89b927.link").unlink()
    layout = layout_case(tmp_path, ["rsa"])
    assert run(layout, [PEMS["rsa"]], links, SKIP) == 1


def test_case_11_failing_step_rules(tmp_path: Path) -> None:
    layout_doc = template()
    products = layout_doc["steps"][0]["expected_products"]
    layout_doc["steps"][0]["expected_products"] = [["MODIFY", "*"], ["DISALLOW", "*"], *products]
    layout = write(tmp_path / "root.layout", sign(layout_doc, ["rsa"]))
    assert run(layout, [PEMS["rsa"]], DEMO, SKIP) == 1


@pytest.mark.parametrize("case", [10, 12])
def test_inspection_cases_cannot_be_judged(tmp_path: Path, case: int) -> None:
    """Cases 10 and 12 need the inspection to run: without --skip-inspections, exit 2."""
    layout = layout_case(tmp_path, ["rsa"])
    assert run(layout, [PEMS["rsa"]], DEMO) == 2, SKIPPED[case]


def test_case_34_legacy_keys_and_link_dir_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = layout_case(tmp_path, ["alice", "bob"])
    demo_links(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run(layout, [DEMO / "alice.pub", DEMO / "bob.pub"], Path("."), SKIP) == 0
    assert run(layout, [DEMO / "alice.pub"], Path("."), SKIP) == 0


def test_case_35_36_bad_link_dir_and_layout(tmp_path: Path) -> None:
    layout = layout_case(tmp_path, ["alice"])
    assert run(layout, [DEMO / "alice.pub"], tmp_path / "bad-link-dir", SKIP) == 1
    assert run(tmp_path / "missing.layout", [DEMO / "alice.pub"], DEMO, SKIP) == 1


@pytest.mark.parametrize("dsse", [False, True])
def test_case_37_38_dsse_and_mixed_keys(tmp_path: Path, dsse: bool) -> None:
    links = IN_TOTO / "demo_dsse_files" if dsse else DEMO
    layout = layout_case(tmp_path, ["alice", "danny"], dsse=dsse)
    keys = [DEMO / "alice.pub", DEMO / "danny.pub"]
    assert run(layout, keys, links, SKIP, "--key-types", "rsa", "ed25519") == 0


def test_case_40_spki_with_dsse_links(tmp_path: Path) -> None:
    layout = layout_case(tmp_path, ["rsa", "ed25519", "ecdsa"], dsse=True)
    assert run(layout, list(PEMS.values()), IN_TOTO / "demo_dsse_files", SKIP) == 0


def test_case_42_private_key_as_verification_key(tmp_path: Path) -> None:
    layout = layout_case(tmp_path, ["rsa"])
    assert run(layout, [IN_TOTO / "pems" / "rsa_private_unencrypted.pem"], DEMO, SKIP) == 2


# -- §1 cases 15-20: thresholds over inline links ----------------------------------------------
def link_payload(materials: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "_type": "link",
        "name": "step",
        "command": [],
        "materials": materials or {},
        "products": {},
        "byproducts": {},
        "environment": {},
    }


def threshold_case(
    tmp_path: Path, authorised: list[str], threshold: int, links: dict[str, dict[str, Any]]
) -> int:
    """A layout (signed rsa) with one step; ``links`` by signer name (ecdsa, ed25519)."""
    keys = dict(key_dict(n) for n in ("ecdsa", "ed25519"))
    step = {
        "_type": "step",
        "name": "step",
        "pubkeys": [public(n).keyid for n in authorised],
        "threshold": threshold,
        "expected_command": [],
        "expected_materials": [],
        "expected_products": [],
    }
    layout = empty_layout() | {"keys": keys, "steps": [step]}
    path = write(tmp_path / "root.layout", sign(layout, ["rsa"]))
    for name, document in links.items():
        write(tmp_path / "links" / f"step.{public(name).keyid[:8]}.link", document)
    (tmp_path / "links").mkdir(exist_ok=True)
    return run(path, [PEMS["rsa"]], tmp_path / "links")


def test_case_15_unauthorised_link_is_skipped(tmp_path: Path) -> None:
    links = {"ecdsa": sign(link_payload(), ["ecdsa"]), "ed25519": sign(link_payload(), ["ed25519"])}
    assert threshold_case(tmp_path, ["ecdsa"], 1, links) == 0


def test_case_16_link_with_failing_signature_is_skipped(tmp_path: Path) -> None:
    links = {"ecdsa": sign(link_payload(), ["ecdsa"]), "ed25519": sign(link_payload(), [])}
    assert threshold_case(tmp_path, ["ecdsa", "ed25519"], 1, links) == 0


def test_case_17_not_enough_valid_links(tmp_path: Path) -> None:
    links = {"ecdsa": sign(link_payload(), ["ecdsa"]), "ed25519": sign(link_payload(), [])}
    assert threshold_case(tmp_path, ["ecdsa", "ed25519"], 2, links) == 1


def test_case_18_not_enough_links(tmp_path: Path) -> None:
    links = {"ecdsa": sign(link_payload(), ["ecdsa"])}
    assert threshold_case(tmp_path, ["ecdsa", "ed25519"], 2, links) == 1


def test_case_19_unequal_links(tmp_path: Path) -> None:
    other = link_payload({"foo": {"sha256": "a" * 64}})
    links = {"ecdsa": sign(link_payload(), ["ecdsa"]), "ed25519": sign(other, ["ed25519"])}
    assert threshold_case(tmp_path, ["ecdsa", "ed25519"], 2, links) == 1


def test_case_20_equal_links(tmp_path: Path) -> None:
    links = {"ecdsa": sign(link_payload(), ["ecdsa"]), "ed25519": sign(link_payload(), ["ed25519"])}
    assert threshold_case(tmp_path, ["ecdsa", "ed25519"], 2, links) == 0


# -- §1 cases 30-33: sublayouts and the summary link -------------------------------------------
def delegating(step: str, to: str, products: list[list[str]] | None = None) -> dict[str, Any]:
    """A layout (unsigned payload) whose one step is delegated to the key ``to``."""
    keyid, material = key_dict(to)
    rule_step = {
        "_type": "step",
        "name": step,
        "pubkeys": [keyid],
        "threshold": 1,
        "expected_command": [],
        "expected_materials": [],
        "expected_products": products or [],
    }
    return empty_layout() | {"keys": {keyid: material}, "steps": [rule_step]}


def test_case_30_demo_as_sublayout(tmp_path: Path) -> None:
    root = write(tmp_path / "root.layout", sign(delegating("sub_layout", "ecdsa"), ["rsa"]))
    prefix = public("ecdsa").keyid[:8]
    write(tmp_path / f"sub_layout.{prefix}.link", sign(template(), ["ecdsa"]))
    demo_links(tmp_path / f"sub_layout.{prefix}")
    assert run(root, [PEMS["rsa"]], tmp_path, SKIP) == 0
    (tmp_path / f"sub_layout.{prefix}" / "package.2f89b927.link").unlink()
    assert run(root, [PEMS["rsa"]], tmp_path, SKIP) == 1  # the sublayout's own link is missing


def test_case_31_two_levels_of_delegation(tmp_path: Path) -> None:
    root = write(tmp_path / "root.layout", sign(delegating("to-bob", "ecdsa"), ["rsa"]))
    bob = tmp_path / f"to-bob.{public('ecdsa').keyid[:8]}"
    write(bob.with_suffix(bob.suffix + ".link"), sign(delegating("to-carl", "ed25519"), ["ecdsa"]))
    carl = bob / f"to-carl.{public('ed25519').keyid[:8]}.link"
    write(carl, sign(empty_layout(), ["ed25519"]))
    assert run(root, [PEMS["rsa"]], tmp_path) == 0
    write(carl, sign(empty_layout(), ["ecdsa"]))  # not the delegated key
    assert run(root, [PEMS["rsa"]], tmp_path) == 1


@pytest.mark.parametrize(("disallowed", "expected"), [("*", 0), ("foo.tar.gz", 1)])
def test_case_32_match_rule_over_the_sublayout_summary(
    tmp_path: Path, disallowed: str, expected: int
) -> None:
    rules = [
        ["MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "delegated-to-bob"],
        ["DISALLOW", disallowed],
    ]
    if disallowed != "*":
        rules = [rules[1]]
    root_doc = delegating("delegated-to-bob", "ecdsa", rules)
    root = write(tmp_path / "root.layout", sign(root_doc, ["rsa"]))
    prefix = public("ecdsa").keyid[:8]
    write(tmp_path / f"delegated-to-bob.{prefix}.link", sign(template(), ["ecdsa"]))
    demo_links(tmp_path / f"delegated-to-bob.{prefix}")
    assert run(root, [PEMS["rsa"]], tmp_path, SKIP) == expected


def test_case_33_summary_link(tmp_path: Path) -> None:
    layout = layout_case(tmp_path, ["rsa"])
    chain = load_chain(layout, "root.layout", {"rsa": public("rsa")}, DEMO)
    outcome = verify(chain, Options(datetime.now(timezone.utc), skip_inspections=True))
    assert list(outcome.summary.materials) == list(outcome.links["write-code"].materials)
    assert outcome.summary.products == outcome.links["package"].products
    assert outcome.summary.command == ("tar", "zcvf", "foo.tar.gz", "foo.py")
    assert not outcome.failures


# -- §2: in-toto-golang's pre-signed layouts -------------------------------------------------------
BEFORE_2030 = "2025-01-01T00:00:00"


@pytest.mark.parametrize(
    ("layout", "extra", "expected"),
    [
        ("demo.layout", (SKIP,), 0),
        ("demo.dsse.layout", (SKIP,), 0),
        ("dsse-only.root.layout", (), 0),
        ("demo.layout", (), 2),  # its inspection `untar` would run `tar`
    ],
)
def test_golang_signed_layouts(layout: str, extra: tuple[str, ...], expected: int) -> None:
    code = run(GOLANG / layout, [GOLANG / "alice.pub"], GOLANG, "--at", BEFORE_2030, *extra)
    assert code == expected


def test_golang_expiry_and_wrong_key() -> None:
    args = (SKIP, "--at", "2031-01-01T00:00:00")
    assert run(GOLANG / "demo.layout", [GOLANG / "alice.pub"], GOLANG, *args) == 1
    wrong_key = run(
        GOLANG / "demo.layout", [GOLANG / "carol.pub"], GOLANG, SKIP, "--at", BEFORE_2030
    )
    assert wrong_key == 1


def test_golang_sublayout(tmp_path: Path) -> None:
    """super.layout (unsigned, as in in-toto-golang's test of sublayouts alone) delegates
    `sub_layout` to alice; the sublayout's links go to `sub_layout.70ca5750/`."""
    shutil.copy(GOLANG / "sub_layout.70ca5750.link", tmp_path)
    sub = tmp_path / "sub_layout.70ca5750"
    sub.mkdir()
    for name in ("write-code.b7d643de.link", "package.d3ffd108.link"):
        shutil.copy(GOLANG / name, sub)
    chain = load_chain(GOLANG / "super.layout", "super.layout", {}, tmp_path)
    at = datetime(2021, 1, 1, tzinfo=timezone.utc)
    outcome = verify(chain, Options(at, skip_inspections=True))
    assert [p.code for p in outcome.failures] == ["layout-unsigned"]  # only the root's
    assert set(outcome.links["sub_layout"].products) == {"foo.tar.gz"}  # package's
    (sub / "package.d3ffd108.link").unlink()
    outcome = verify(load_chain(GOLANG / "super.layout", "s", {}, tmp_path), Options(at))
    assert "link-missing" in [p.code for p in outcome.failures]


def test_golang_unparseable_expiry(tmp_path: Path) -> None:
    document = json.loads((GOLANG / "demo.layout").read_text())
    document["signed"]["expires"] = "not a time"
    layout = write(tmp_path / "demo.layout", document)
    assert run(layout, [GOLANG / "alice.pub"], GOLANG, SKIP, "--at", BEFORE_2030) == 1
