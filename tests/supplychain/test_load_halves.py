"""A chain read with a forked child is the chain read in one process, problems included."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from in_toto.models.layout import Layout
from in_toto.models.link import Link
from in_toto.models.metadata import Envelope, Metablock
from securesystemslib.signer import CryptoSigner

from policy_engine.supplychain import Options, halves, load_chain, load_verification_keys, verify
from tests.cliprobe import run_module

STEPS = 12


def signer() -> CryptoSigner:
    return CryptoSigner(Ed25519PrivateKey.generate())


def signed(payload: dict[str, Any], by: CryptoSigner, dsse: bool) -> str:
    model = (Layout if payload["_type"] == "layout" else Link).read(payload)
    document = Envelope.from_signable(model) if dsse else Metablock(signed=model)
    document.create_signature(by)
    return json.dumps(document.to_dict())


def artifacts(step: int) -> dict[str, dict[str, str]]:
    return {f"out/{step}/{i}": {"sha256": f"{step:02d}{i:02d}" * 16} for i in range(30)}


def link(step: int) -> dict[str, Any]:
    return {
        "_type": "link",
        "name": f"s{step}",
        "command": ["make"],
        "materials": artifacts(step - 1) if step else {},
        "products": artifacts(step),
        "byproducts": {},
        "environment": {},
    }


def layout(keyid: str, key: dict[str, Any]) -> dict[str, Any]:
    steps = []
    for i in range(STEPS):
        materials = [["MATCH", "*", "WITH", "PRODUCTS", "FROM", f"s{i - 1}"]] if i else []
        steps.append(
            {
                "_type": "step",
                "name": f"s{i}",
                "pubkeys": [keyid],
                "threshold": 1,
                "expected_command": ["make"],
                "expected_materials": [*materials, ["DISALLOW", "*"]],
                "expected_products": [["CREATE", "*"], ["DISALLOW", "*"]],
            }
        )
    return {
        "_type": "layout",
        "expires": "2100-01-01T00:00:00Z",
        "readme": "",
        "keys": {keyid: {**key, "keyid": keyid}},
        "steps": steps,
        "inspect": [],
    }


def chain_folder(folder: Path, dsse: bool) -> None:
    """A chain whose tail holds every kind of broken link file."""
    owner, functionary = signer(), signer()
    stranger = signer()
    folder.mkdir()
    (folder / "owner.pub").write_text(json.dumps(owner.public_key.to_dict()))
    keyid = functionary.public_key.keyid
    document = layout(keyid, functionary.public_key.to_dict())
    (folder / "root.layout").write_text(signed(document, owner, dsse))
    for i in range(STEPS):
        path = folder / f"s{i}.{keyid[:8]}.link"
        path.write_text(signed(link(i), functionary, dsse))
    prefix = keyid[:8]
    (folder / f"s8.{prefix}.link").write_text(signed(link(8), stranger, dsse))  # bad signature
    (folder / f"s9.{prefix}.link").write_text("{not json")
    (folder / f"s10.{prefix}.link").write_text(
        signed({**link(10), "name": "s0"}, functionary, dsse)
    )
    tampered = json.loads(signed(link(11), functionary, dsse))
    if dsse:
        tampered["payload"] = "%%%"
    else:
        tampered["signed"]["products"]["out/11/0"]["sha256"] = "0" * 64
    (folder / f"s11.{prefix}.link").write_text(json.dumps(tampered))


@pytest.mark.parametrize("dsse", [False, True], ids=["metablock", "dsse"])
def test_forked_and_in_process_reads_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dsse: bool
) -> None:
    chain_folder(tmp_path / "chain", dsse)
    folder = tmp_path / "chain"
    keys = load_verification_keys((folder / "owner.pub",))
    monkeypatch.setenv("MLPOLICY_WORKERS", "1")
    alone = load_chain(folder / "root.layout", "root.layout", keys, folder)
    forks: list[int] = []
    fork = os.fork

    def counted_fork() -> int:
        pid = fork()
        forks.append(pid)
        return pid

    monkeypatch.setenv("MLPOLICY_WORKERS", "2")
    monkeypatch.setattr(halves, "MIN_WEIGHT", 1)
    monkeypatch.setattr(halves, "cpu_count", lambda: 2)
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # earlier tests may leave threads
    monkeypatch.setattr(os, "fork", counted_fork)
    split = load_chain(folder / "root.layout", "root.layout", keys, folder)
    assert len(forks) == 1 and split == alone
    options = Options(datetime(2030, 1, 1, tzinfo=timezone.utc), None, False, False)
    outcome = verify(split, options)
    assert outcome == verify(alone, options)
    assert {p.subject for p in outcome.failures} == {"s8", "s9", "s10", "s11"}


UNUSED_BY_VERIFY = (
    "dvc",
    "in_toto",
    "networkx",
    "lark",
    "pydantic",
    "yaml",
    "tempfile",
    "multiprocessing",
)


def test_verify_loads_no_module_it_does_not_use(tmp_path: Path) -> None:
    chain_folder(tmp_path / "chain", dsse=True)
    argv = ["verify", "--layout", "root.layout", "-k", "owner.pub"]
    out = run_module(argv, UNUSED_BY_VERIFY, cwd=tmp_path / "chain")
    assert out.strip().endswith("1 []"), out  # 1: s8-s11 fail
