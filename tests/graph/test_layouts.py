"""In-toto layouts as facts: keys, steps, inspections, expiry, and thresholds of distinct keys."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from attestation_kit import (
    Identity,
    dsse,
    identity,
    link,
    load,
    metablock,
    owned_by_all,
    write_json,
)
from securesystemslib.signer import CryptoSigner

from policy_engine.errors import InputError
from policy_engine.graph.model import Layout, ProvenanceGraph
from policy_engine.keys import Keyring

EXPIRES = "2030-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Identity]:
    folder = tmp_path_factory.mktemp("keys")
    make = {"owner": CryptoSigner.generate_ed25519, "f1": CryptoSigner.generate_ecdsa}
    make |= {"f2": CryptoSigner.generate_ed25519, "outsider": CryptoSigner.generate_ed25519}
    return {name: identity(factory(), folder, name) for name, factory in make.items()}


@pytest.fixture(scope="module")
def keyring(ids: dict[str, Identity]) -> Keyring:
    """The policy trusts the layout's owner only."""
    return Keyring({"owner": ids["owner"].public})


def key_entry(who: Identity) -> dict[str, Any]:
    key = who.signer.public_key
    return {
        "keyid": key.keyid,
        "keytype": key.keytype,
        "scheme": key.scheme,
        "keyval": dict(key.keyval),
    }


def layout(ids: dict[str, Identity], threshold: int = 2, **extra: Any) -> dict[str, Any]:
    f1, f2 = ids["f1"], ids["f2"]
    return {
        "_type": "layout",
        "expires": EXPIRES,
        "readme": "train and package",
        "keys": {f1.keyid: key_entry(f1), f2.keyid: key_entry(f2)},
        "steps": [
            {
                "_type": "step",
                "name": "train",
                "pubkeys": [f1.keyid, f2.keyid],
                "threshold": threshold,
                "expected_command": ["python", "train.py"],
                "expected_materials": [["ALLOW", "data/*"], ["DISALLOW", "*"]],
                "expected_products": [["CREATE", "model.pkl"]],
            }
        ],
        "inspect": [
            {
                "_type": "inspection",
                "name": "touch",
                "run": ["touch", "INSPECTION-RAN"],
                "expected_materials": [],
                "expected_products": [],
            }
        ],
        **extra,
    }


def train_link(who: list[Identity], model: str = "c" * 64) -> dict:
    return metablock(link("train", products={"model.pkl": {"sha256": model}}), who)


def load_layout(
    root: Path, keyring: Keyring, *paths: Path, now: datetime | None = None
) -> tuple[Layout, ProvenanceGraph]:
    kwargs = {"now": now} if now else {}
    graph = load(root, keyring, *paths, **kwargs)
    (fact,) = graph.layouts
    return fact, graph


def test_layout_facts_are_typed_and_inspections_never_run(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    path = write_json(tmp_path / "root.layout", metablock(layout(ids), [ids["owner"]]))
    fact, graph = load_layout(tmp_path, keyring, path)
    assert fact.signers == {ids["owner"].keyid}
    assert fact.expires == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert fact.readme == "train and package"
    assert {k: v.computed for k, v in fact.keys.items()} == {
        ids["f1"].keyid: ids["f1"].keyid,
        ids["f2"].keyid: ids["f2"].keyid,
    }
    (step,) = fact.steps
    assert (step.name, step.threshold, step.expected_command) == (
        "train",
        2,
        ("python", "train.py"),
    )
    assert step.expected_materials == (("ALLOW", "data/*"), ("DISALLOW", "*"))
    assert step.expected_products == (("CREATE", "model.pkl"),)
    (inspection,) = fact.inspections
    assert inspection.run == ("touch", "INSPECTION-RAN")
    assert not (tmp_path / "INSPECTION-RAN").exists() and not Path("INSPECTION-RAN").exists()
    assert [i.code for i in graph.issues] == ["layout-threshold"]  # no links yet


def test_dsse_layout_verifies_like_a_classic_one(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    path = write_json(tmp_path / "root.layout", dsse(layout(ids), [ids["owner"], ids["outsider"]]))
    fact, _ = load_layout(tmp_path, keyring, path)
    assert fact.envelope == "dsse"
    assert [s.status.value for s in fact.signatures] == ["valid", "untrusted"]


def test_threshold_counts_distinct_authorised_keys(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    write_json(tmp_path / "root.layout", metablock(layout(ids), [ids["owner"]]))
    write_json(tmp_path / "links" / "train.f1-a.link", train_link([ids["f1"]]))
    write_json(tmp_path / "links" / "train.f1-b.link", train_link([ids["f1"], ids["f1"]]))
    write_json(tmp_path / "links" / "train.out.link", train_link([ids["outsider"]]))
    fact, graph = load_layout(tmp_path, keyring, tmp_path)
    (step,) = fact.steps
    assert step.signers == {ids["f1"].keyid}
    assert step.links == ("links/train.f1-a.link", "links/train.f1-b.link")
    assert not step.satisfied
    (issue,) = graph.issues
    assert issue.code == "layout-threshold"
    assert "needs 2 distinct authorised signer(s): 1 distinct" in issue.message

    write_json(tmp_path / "links" / "train.f2.link", train_link([ids["f2"]]))
    fact, graph = load_layout(tmp_path, keyring, tmp_path)
    assert fact.steps[0].signers == {ids["f1"].keyid, ids["f2"].keyid}
    assert fact.steps[0].satisfied and graph.issues == []


def test_links_that_disagree_do_not_meet_the_threshold(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    write_json(tmp_path / "root.layout", metablock(layout(ids), [ids["owner"]]))
    write_json(tmp_path / "train.1.link", train_link([ids["f1"]], model="a" * 64))
    write_json(tmp_path / "train.2.link", train_link([ids["f2"]], model="b" * 64))
    fact, graph = load_layout(tmp_path, keyring, tmp_path)
    assert len(fact.steps[0].signers) == 2 and not fact.steps[0].agree
    assert "record different artifacts" in graph.issues[0].message


def test_a_broken_signature_by_an_authorised_key_is_an_issue(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    write_json(tmp_path / "root.layout", metablock(layout(ids, threshold=1), [ids["owner"]]))
    broken = train_link([ids["f2"]])
    broken["signed"]["command"] = ["python", "evil.py"]
    write_json(tmp_path / "train.f2.link", broken)
    write_json(tmp_path / "train.f1.link", train_link([ids["f1"]]))
    fact, graph = load_layout(tmp_path, keyring, tmp_path)
    assert fact.steps[0].signers == {ids["f1"].keyid} and fact.steps[0].satisfied
    assert [(i.code, i.subject) for i in graph.issues] == [("bad-signature", "train.f2.link")]


def test_an_untrusted_layout_is_recorded_without_threshold_issues(
    tmp_path: Path, ids: dict[str, Identity]
) -> None:
    path = write_json(tmp_path / "root.layout", metablock(layout(ids), [ids["outsider"]]))
    fact, graph = load_layout(tmp_path, Keyring({}), path)
    assert fact.signers == frozenset() and not fact.trusted
    assert [s.status.value for s in fact.signatures] == ["untrusted"]
    assert [i.code for i in graph.issues] == ["untrusted-layout"]  # no threshold issue


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        (datetime(2030, 1, 1, tzinfo=timezone.utc) - timedelta(seconds=1), False),
        (datetime(2030, 1, 1, tzinfo=timezone.utc), True),  # in-toto: expired at `expires`
        (datetime(2031, 1, 1, tzinfo=timezone.utc), True),
    ],
)
def test_expiry_is_judged_at_the_given_time(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, now: datetime, expired: bool
) -> None:
    path = write_json(tmp_path / "l.layout", metablock(layout(ids, threshold=0), [ids["owner"]]))
    _, graph = load_layout(tmp_path, keyring, path, now=now)
    assert [i.code for i in graph.issues] == (["layout-expired"] if expired else [])


def test_unparseable_expiry_fails_closed(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    path = write_json(tmp_path / "l.layout", metablock(layout(ids, expires="soon"), [ids["owner"]]))
    with pytest.raises(InputError, match="invalid in-toto layout") as info:
        load(tmp_path, keyring, path)
    assert info.value.location == "l.layout"


@pytest.mark.parametrize("field", ["steps", "inspect"])
def test_a_step_without_a_name_is_a_located_input_error(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, field: str
) -> None:
    document = layout(ids)
    del document[field][0]["name"]
    path = write_json(tmp_path / "l.layout", metablock(document, [ids["owner"]]))
    with pytest.raises(InputError, match="invalid in-toto layout: missing field `name`") as info:
        load(tmp_path, keyring, path)
    assert info.value.location == "l.layout"


def test_a_key_whose_id_is_not_its_own_authorises_nothing(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    document = layout(ids, threshold=1)
    f1 = ids["f1"].keyid
    document["keys"][f1] = key_entry(ids["outsider"]) | {"keyid": f1}  # f1's id, outsider's key
    write_json(tmp_path / "root.layout", metablock(document, [ids["owner"]]))
    write_json(tmp_path / "train.link", train_link([ids["outsider"]]))
    fact, graph = load_layout(tmp_path, keyring, tmp_path)
    assert fact.keys[f1].computed == "" and "not computed" in fact.keys[f1].problem
    assert fact.steps[0].signers == frozenset()
    assert sorted(i.code for i in graph.issues) == ["key-id-mismatch", "layout-threshold"]


def test_a_sublayout_stands_for_its_step(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    owner, f1 = ids["owner"], ids["f1"]
    root = {
        "_type": "layout",
        "expires": EXPIRES,
        "keys": {f1.keyid: key_entry(f1)},
        "steps": [{"_type": "step", "name": "build", "pubkeys": [f1.keyid], "threshold": 1}],
        "inspect": [],
    }
    sub = layout(ids, threshold=1)
    write_json(tmp_path / "root.layout", metablock(root, [owner]))
    write_json(tmp_path / f"build.{f1.keyid[:8]}.link", metablock(sub, [f1]))
    write_json(tmp_path / f"build.{f1.keyid[:8]}" / "train.link", train_link([ids["f2"]]))
    write_json(tmp_path / "train.link", train_link([ids["outsider"]]))  # not the sublayout's
    graph = load(tmp_path, keyring, tmp_path)
    facts = {x.file: x for x in graph.layouts}
    sublayout = facts[f"build.{f1.keyid[:8]}.link"]
    assert sublayout.as_step == "build"
    assert facts["root.layout"].steps[0].signers == {f1.keyid}
    assert sublayout.steps[0].links == (f"build.{f1.keyid[:8]}/train.link",)
    assert sublayout.steps[0].signers == {ids["f2"].keyid}
    assert graph.issues == []
    assert json.loads((tmp_path / "train.link").read_text())["signed"]["name"] == "train"


def test_links_sent_bare_by_other_processes_count_for_a_layout(
    tmp_path: Path, ids: dict[str, Identity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Links read by a pool come without their signed bytes (a lone link as its bare
    attestation): their files are read again for the layout, which judges as read here."""
    import threading

    keyring = Keyring({name: ids[name].public for name in ("owner", "f1", "f2")})
    write_json(tmp_path / "root.layout", metablock(layout(ids), [ids["owner"]]))
    write_json(tmp_path / "links" / "train.f1.link", train_link([ids["f1"]]))
    write_json(tmp_path / "links" / "train.f2.link", train_link([ids["f2"]]))
    write_json(tmp_path / "links" / "train.out.link", train_link([ids["outsider"]]))
    monkeypatch.setenv("MLPOLICY_WORKERS", "1")
    here, here_graph = load_layout(tmp_path, keyring, tmp_path)
    monkeypatch.setenv("MLPOLICY_WORKERS", "2")
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # a forked pool
    pooled, pooled_graph = load_layout(tmp_path, keyring, tmp_path)
    assert pooled == here and pooled.steps[0].satisfied
    assert pooled_graph.issues == here_graph.issues
    assert pooled_graph.layout_problems == here_graph.layout_problems
    assert list(pooled_graph.attestations()) == list(here_graph.attestations())


def test_links_found_and_read_by_children_from_the_start_count_for_a_layout(
    tmp_path: Path, ids: dict[str, Identity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in the background, the children find the files themselves and send no list
    of them: this process finds them again for the layout, which judges as read here."""
    import threading

    from policy_engine.graph import build
    from policy_engine.graph.builders import BuildContext
    from policy_engine.graph.builders.attestations import build_attestations

    keyring = Keyring({name: ids[name].public for name in ("owner", "f1", "f2")})
    write_json(tmp_path / "root.layout", metablock(layout(ids), [ids["owner"]]))
    for who in ("f1", "f2", "outsider"):
        write_json(tmp_path / "links" / f"train.{who}.link", train_link([ids[who]]))
    monkeypatch.setenv("MLPOLICY_WORKERS", "1")
    here, here_graph = load_layout(tmp_path, keyring, tmp_path)
    monkeypatch.setenv("MLPOLICY_WORKERS", "2")
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # children are forked
    monkeypatch.setattr(build, "BUILDERS", (("attestations", build_attestations),))
    owners = owned_by_all(keyring)
    context = BuildContext(tmp_path, keyring, (tmp_path,), hash_cache=False, layout_owners=owners)
    graph = build.build_graph(context)
    assert graph.layouts == here_graph.layouts == [here] and here.steps[0].satisfied
    assert graph.issues == here_graph.issues
    assert graph.layout_problems == here_graph.layout_problems
    assert list(graph.attestations()) == list(here_graph.attestations())
