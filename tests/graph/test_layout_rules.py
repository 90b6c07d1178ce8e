"""The supply chain checker over trusted layouts while the graph is built (``layout_problems``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from attestation_kit import Identity, identity, link, load, metablock, write_json
from securesystemslib.signer import CryptoSigner
from test_layout_trust import layout_of, owned, sign_layout

from policy_engine.keys import Keyring

A, B = "a" * 64, "b" * 64


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Identity]:
    folder = tmp_path_factory.mktemp("keys")
    names = ("owner", "f1", "labeler_a")
    return {n: identity(CryptoSigner.generate_ed25519(), folder, n) for n in names}


@pytest.fixture(scope="module")
def keyring(ids: dict[str, Identity]) -> Keyring:
    return Keyring({"owner": ids["owner"].public})


def root_with_ship(f1: Identity) -> dict[str, Any]:
    """`build` (f1), then `ship` (f1), which must ship what `build` made and nothing else."""
    root = layout_of(f1)
    ship = dict(root["steps"][0], name="ship", expected_command=[])
    ship["expected_materials"] = [
        ["MATCH", "model.bin", "WITH", "PRODUCTS", "FROM", "build"],
        ["DISALLOW", "*"],
    ]
    root["steps"].append(ship)
    return root


def chain(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, shipped: str
) -> list[tuple[str, str, bool]]:
    f1, labeler = ids["f1"], ids["labeler_a"]
    sign_layout(tmp_path / "root.layout", root_with_ship(f1), [ids["owner"]])
    sub = f"build.{f1.keyid[:8]}"
    sign_layout(tmp_path / f"{sub}.link", layout_of(labeler, step="label"), [f1])
    label = link("label", products={"model.bin": {"sha256": A}})
    write_json(tmp_path / sub / f"label.{labeler.keyid[:8]}.link", metablock(label, [labeler]))
    ship = link("ship", materials={"model.bin": {"sha256": shipped}})
    write_json(tmp_path / f"ship.{f1.keyid[:8]}.link", metablock(ship, [f1]))
    graph = load(tmp_path, keyring, tmp_path, owners=owned(ids["owner"]))
    assert all(x.trusted for x in graph.layouts) and graph.issues == []
    return [(p.code, p.subject, p.warning) for p in graph.layout_problems]


def test_a_sublayout_stands_for_its_step_by_its_summary(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    problems = chain(tmp_path, ids, keyring, A)
    assert [p for p in problems if not p[2]] == []


def test_a_rule_over_a_sublayouts_products_fails_when_they_differ(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    problems = chain(tmp_path, ids, keyring, B)
    assert [p for p in problems if not p[2]] == [("rule-disallow", "ship", False)]
