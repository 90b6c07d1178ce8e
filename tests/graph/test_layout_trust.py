"""Layout trust (owners named by the policy, delegation to sublayouts) and link file names.

Layouts are signed with in-toto's own ``Metablock``; links with securesystemslib signers.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from attestation_kit import Identity, identity, link, load, metablock, write_json
from in_toto.models.layout import Layout as InTotoLayout
from in_toto.models.metadata import Metablock
from securesystemslib.signer import CryptoSigner

from policy_engine.graph.builders import LayoutOwners
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring

EXPIRES = "2030-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Identity]:
    folder = tmp_path_factory.mktemp("keys")
    names = ("owner", "owner2", "f1", "labeler_a", "labeler_b", "outsider")
    return {n: identity(CryptoSigner.generate_ed25519(), folder, n) for n in names}


@pytest.fixture(scope="module")
def keyring(ids: dict[str, Identity]) -> Keyring:
    return Keyring({n: ids[n].public for n in ("owner", "owner2", "labeler_a", "labeler_b")})


def owned(*who: Identity, glob: str = "*.layout") -> tuple[LayoutOwners, ...]:
    return (LayoutOwners(glob, "owners", frozenset(w.keyid for w in who)),)


def key_entry(who: Identity) -> dict[str, Any]:
    key = who.signer.public_key
    return {"keyid": key.keyid, "keytype": key.keytype, "scheme": key.scheme, "keyval": key.keyval}


def layout_of(functionary: Identity, step: str = "build") -> dict[str, Any]:
    return {
        "_type": "layout",
        "expires": EXPIRES,
        "keys": {functionary.keyid: key_entry(functionary)},
        "steps": [
            {
                "_type": "step",
                "name": step,
                "pubkeys": [functionary.keyid],
                "threshold": 1,
                "expected_command": ["make", step],
            }
        ],
        "inspect": [],
    }


def sign_layout(path: Path, document: dict[str, Any], signers: list[Identity]) -> Path:
    """A layout signed (classic Metablock) with in-toto's API."""
    block = Metablock(signed=InTotoLayout.read(copy.deepcopy(document)))
    for who in signers:
        block.create_signature(who.signer)
    path.parent.mkdir(parents=True, exist_ok=True)
    block.dump(str(path))
    return path


def codes(graph: ProvenanceGraph) -> list[str]:
    return sorted(i.code for i in graph.issues)


@pytest.mark.parametrize(
    ("case", "signers", "owners", "why"),
    [
        ("unsigned", [], ["owner"], "lacks a valid signature by owner key(s)"),
        ("signed by an untrusted key", ["outsider"], ["owner"], "lacks a valid signature"),
        ("missing an owner's signature", ["owner"], ["owner", "owner2"], "role `owners`"),
        ("no owner named", ["owner"], [], "the policy names no owner for it"),
    ],
)
def test_a_layout_its_owners_did_not_all_sign_is_untrusted_and_authorises_nothing(
    tmp_path: Path,
    ids: dict[str, Identity],
    keyring: Keyring,
    case: str,
    signers: list[str],
    owners: list[str],
    why: str,
) -> None:
    path = sign_layout(tmp_path / "root.layout", layout_of(ids["f1"]), [ids[s] for s in signers])
    write_json(tmp_path / "build.link", metablock(link("build"), [ids["f1"]]))
    graph = load(tmp_path, keyring, tmp_path, owners=owned(*(ids[o] for o in owners)))
    (fact,) = graph.layouts
    assert not fact.trusted, case
    (issue,) = graph.issues  # no threshold issue for an untrusted layout
    assert (issue.code, issue.subject) == ("untrusted-layout", "root.layout")
    assert why in issue.message and "its steps authorise nothing" in issue.message
    assert list(graph.steps()) == []  # its steps are not pipeline steps
    assert path.exists()


def test_an_owner_signature_that_does_not_verify_is_untrusted(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    path = sign_layout(tmp_path / "root.layout", layout_of(ids["f1"]), [ids["owner"]])
    document = json.loads(path.read_text())
    document["signed"]["readme"] = "changed after signing"
    path.write_text(json.dumps(document))
    graph = load(tmp_path, keyring, path, owners=owned(ids["owner"]))
    assert not graph.layouts[0].trusted
    assert codes(graph) == ["bad-signature", "untrusted-layout"]


def test_a_layout_every_owner_signed_is_trusted_and_its_steps_join_the_pipeline(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    sign_layout(tmp_path / "root.layout", layout_of(ids["f1"]), [ids["owner"], ids["owner2"]])
    write_json(tmp_path / "build.link", metablock(link("build"), [ids["f1"]]))
    graph = load(tmp_path, keyring, tmp_path, owners=owned(ids["owner"], ids["owner2"]))
    assert graph.layouts[0].trusted and graph.issues == []
    (step,) = graph.steps()
    assert (step.name, step.cmd, step.recorded) == ("build", ("make build",), False)
    assert step.source.file == "root.layout"


def test_trust_passes_to_a_sublayout_only_through_the_delegating_steps_keys(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    f1, outsider = ids["f1"], ids["outsider"]
    sign_layout(tmp_path / "root.layout", layout_of(f1), [ids["owner"]])
    sub = layout_of(ids["labeler_a"], step="label")
    good = f"build.{f1.keyid[:8]}.link"
    sign_layout(tmp_path / good, sub, [f1])
    graph = load(tmp_path, keyring, tmp_path, owners=owned(ids["owner"]))
    assert {x.file: x.trusted for x in graph.layouts} == {"root.layout": True, good: True}
    assert sorted(s.name for s in graph.steps()) == ["build", "label"]
    assert codes(graph) == ["layout-threshold"]  # the sublayout's `label` has no link

    (tmp_path / good).unlink()
    bad = f"build.{outsider.keyid[:8]}.link"
    sign_layout(tmp_path / bad, sub, [outsider])  # not a functionary of `build`
    graph = load(tmp_path, keyring, tmp_path, owners=owned(ids["owner"]))
    assert {x.file: x.trusted for x in graph.layouts} == {"root.layout": True, bad: False}
    untrusted = [i for i in graph.issues if i.code == "untrusted-layout"]
    assert [i.subject for i in untrusted] == [bad]
    assert "signed by a functionary of step `build`" in untrusted[0].message
    assert [s.name for s in graph.steps()] == ["build"]


def test_an_owner_of_every_layout_does_not_trust_a_sublayout_it_did_not_sign(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    """Owners declared for `**` also judge sublayouts; delegation still trusts them."""
    f1 = ids["f1"]
    sign_layout(tmp_path / "root.layout", layout_of(f1), [ids["owner"]])
    sign_layout(tmp_path / f"build.{f1.keyid[:8]}.link", layout_of(ids["labeler_a"], "x"), [f1])
    graph = load(tmp_path, keyring, tmp_path, owners=owned(ids["owner"], glob="**"))
    assert all(x.trusted for x in graph.layouts)


# -- link file names -----------------------------------------------------------------------
def label_link(who: Identity, step: str = "label") -> dict[str, Any]:
    return metablock(link(step, products={"data/labels.csv": {"sha256": "a" * 64}}), [who])


def test_a_link_filed_under_another_signers_key_id_is_a_finding(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    a, b = ids["labeler_a"], ids["labeler_b"]
    name = f"label.{b.keyid[:8]}.link"
    write_json(tmp_path / "links" / name, label_link(a))
    graph = load(tmp_path, keyring, tmp_path)
    (issue,) = graph.issues
    assert (issue.code, issue.subject) == ("link-name-mismatch", f"links/{name}")
    assert "another key id" in issue.message
    evidence = {e.label: e.value for e in issue.evidence}
    assert evidence["name says"] == f"step `label`, key id {b.keyid[:8]}"
    assert evidence["signed by"] == a.keyid[:12]
    assert evidence["contains"] == "step `label`"


def test_a_link_filed_under_another_step_name_is_a_finding(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    a = ids["labeler_a"]
    write_json(tmp_path / f"train.{a.keyid[:8]}.link", label_link(a))
    (issue,) = load(tmp_path, keyring, tmp_path).issues
    assert issue.code == "link-name-mismatch" and "another step than" in issue.message
    assert {e.label: e.value for e in issue.evidence}["contains"] == "step `label`"


def test_links_filed_as_in_toto_files_them_are_not_findings(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    a, outsider = ids["labeler_a"], ids["outsider"]
    write_json(tmp_path / f"label.{a.keyid[:8]}.link", label_link(a))
    write_json(tmp_path / "other" / f"label.{outsider.keyid[:8]}.link", label_link(outsider))
    write_json(tmp_path / "label.link", label_link(a))  # no key id in the name: not judged
    assert load(tmp_path, keyring, tmp_path).issues == []
