"""Fuzzing the statement loaders: any in-toto link, layout, DSSE envelope, JSON-Lines
bundle, sigstore bundle or SLSA provenance is read into the graph (with issues and
notes) or raises the engine's ``InputError``; never another exception, never a second.

Inputs start from valid documents signed by a trusted key: the payload mutated and
signed again (so signature checks pass and the schemas are reached), the signed
document mutated after signing, its bytes mutated, or raw JSON. They go through the
attestation builders' public entries (``build_attestations``, ``add_statements``),
layouts owned by the trusted key, in one folder per process rewritten per input.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from securesystemslib.exceptions import FormatError
from securesystemslib.signer import CryptoSigner

from policy_engine.errors import InputError
from policy_engine.keys import Keyring
from tests.fuzz.fuzzing import EXAMPLES, check_input_error, counted, fuzz_settings, shards
from tests.fuzz.mutate import mutate, mutate_bytes
from tests.fuzz.test_fuzz_json import raw as raw_json
from tests.graph.attestation_kit import (
    STATEMENT_V01,
    Identity,
    dsse,
    identity,
    link,
    load,
    metablock,
    statement,
)

MEMORY = "/dev/shm"
SHA = {"sha256": "a" * 64}
SLSA_V02 = {
    "builder": {"id": "https://ci.example.com/runner@v1"},
    "buildType": "https://ci.example.com/train@v1",
    "materials": [{"uri": "data/train.csv", "digest": SHA}, {"uri": "git+https://x@main"}],
    "metadata": {"buildInvocationId": "run-42", "buildStartedOn": "2026-01-01T00:00:00Z"},
}
SLSA_V1 = {
    "buildDefinition": {
        "buildType": "https://ci.example.com/train@v2",
        "resolvedDependencies": [{"name": "data/train.csv", "digest": SHA}],
        "externalParameters": {"x": 1},
    },
    "runDetails": {"builder": {"id": "https://ci.example.com/runner@v2"}},
}
KEYS = (
    "_type", "name", "command", "materials", "products", "byproducts", "environment",
    "subject", "predicateType", "predicate", "digest", "uri", "expires", "keys", "steps",
    "inspect", "pubkeys", "threshold", "expected_materials", "expected_products",
    "expected_command", "run", "keyid", "keytype", "scheme", "keyval", "public", "sig",
    "signatures", "signed", "payload", "payloadType", "dsseEnvelope", "mediaType",
    "buildDefinition", "resolvedDependencies", "runDetails", "builder", "id", "buildType",
    "metadata", "timestamp", "readme", "sha256", "sha512", "md5", "name", "other_headers",
)  # fmt: skip
NAMES = ("a.link", "a.layout", "a.json", "a.intoto.jsonl", "a.dsse", "a.sigstore.json", "a")


def _signers(folder: Path) -> list[Identity]:
    """Two trusted keys whose signatures are deterministic (hypothesis replays inputs)."""
    return [
        identity(CryptoSigner.generate_ed25519(), folder, "ed"),
        identity(CryptoSigner.generate_rsa(scheme="rsa-pkcs1v15-sha256", size=2048), folder, "rsa"),
    ]


def _layout(signers: list[Identity]) -> dict[str, Any]:
    keys = {
        who.keyid: {
            "keyid": who.keyid,
            "keytype": who.signer.public_key.keytype,
            "scheme": who.signer.public_key.scheme,
            "keyval": dict(who.signer.public_key.keyval),
        }
        for who in signers
    }
    step = {
        "_type": "step",
        "name": "train",
        "pubkeys": list(keys),
        "threshold": 1,
        "expected_command": ["python", "train.py"],
        "expected_materials": [["MATCH", "data/*", "WITH", "PRODUCTS", "FROM", "prepare"]],
        "expected_products": [["CREATE", "models/m.pkl"], ["DISALLOW", "*"]],
    }
    inspection = {"_type": "inspection", "name": "look", "run": ["ls"], "expected_materials": []}
    return {
        "_type": "layout",
        "expires": "2030-01-01T00:00:00Z",
        "readme": "",
        "keys": keys,
        "steps": [step, {**step, "name": "prepare", "expected_materials": []}],
        "inspect": [inspection],
    }


class Folder:
    """This process's repository, its trusted keys and the documents to start from."""

    def __init__(self) -> None:
        memory = MEMORY if os.path.isdir(MEMORY) else None
        self.root = Path(tempfile.mkdtemp(prefix="mlpolicy-fuzz-att-", dir=memory))
        self.signers = _signers(self.root / "keys")
        self.keyring = Keyring({f"k{i}": who.public for i, who in enumerate(self.signers)})
        subjects = [{"name": "models/m.pkl", "digest": SHA}, {"name": "data/x.csv", "digest": SHA}]
        self.payloads: list[dict[str, Any]] = [
            link("train", {"data/x.csv": SHA}, {"models/m.pkl": SHA}),
            _layout(self.signers),
            statement(subjects, predicate={"accuracy": 0.9}),
            statement(subjects[:1], kind=STATEMENT_V01),
            statement(subjects, "https://slsa.dev/provenance/v0.2", SLSA_V02),
            statement(subjects, "https://slsa.dev/provenance/v1", SLSA_V1),
        ]

    def write(self, files: dict[str, bytes]) -> Path:
        """Write the files in a fresh ``att`` folder; the path to read."""
        folder = self.root / "att"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(content)
        return folder / next(iter(files)) if len(files) == 1 else folder


@functools.cache
def folder() -> Folder:
    """The process's folder, made on first use (so collecting the suite makes no keys)."""
    return Folder()


def _sign(payload: Any, envelope: str, signers: list[Identity]) -> Any:
    """``payload`` in ``envelope``, signed (a metablock that cannot be canonical: unsigned)."""
    if envelope == "metablock":
        try:
            return metablock(payload, signers)
        except FormatError:
            return {"signed": payload, "signatures": []}
    if envelope == "plain":
        return payload
    signed = dsse(payload, signers)
    if envelope == "sigstore":
        return {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "dsseEnvelope": signed,
        }
    return signed


ENVELOPES = st.sampled_from(("metablock", "dsse", "sigstore", "plain"))
SIGNERS = st.lists(st.sampled_from((0, 1)), max_size=2, unique=True)
HOW = st.sampled_from(("document",) * 4 + ("bytes", "raw"))


@functools.cache
def _signed_seed(index: int, envelope: str, signers: tuple[int, ...]) -> str:
    """A seed payload signed as drawn, as JSON: made once, the same bytes every time."""
    here = folder()
    return json.dumps(_sign(here.payloads[index], envelope, [here.signers[i] for i in signers]))


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A seed payload, perhaps mutated, signed, perhaps mutated after signing; as JSON."""
    data = draw(st.data())
    here = folder()
    index = data.draw(st.sampled_from(range(len(here.payloads))), label="seed")
    mutated = data.draw(st.booleans(), label="mutate payload")
    payload = mutate(data, here.payloads[index], KEYS) if mutated else here.payloads[index]
    envelope = data.draw(ENVELOPES)
    signers = tuple(data.draw(SIGNERS))
    after = data.draw(st.integers(0, 3), label="mutate envelope") == 0
    if not (mutated or after):
        return _signed_seed(index, envelope, signers)
    document = _sign(payload, envelope, [here.signers[i] for i in signers])
    if after:
        document = mutate(data, document, KEYS, edits=2)
    return json.dumps(document)


DOCUMENTS = documents()
BUNDLES = st.lists(DOCUMENTS, min_size=1, max_size=3)


@st.composite
def files(draw: st.DrawFn) -> dict[str, bytes]:
    """One or two files: documents, a bundle of them, their bytes mutated, or raw JSON."""
    data = draw(st.data())
    written: dict[str, bytes] = {}
    for index in range(data.draw(st.integers(1, 2), label="files")):
        name = data.draw(st.sampled_from(NAMES), label="name")
        bundle = name.endswith("jsonl")  # only a bundle holds more than one document
        content = (
            "\n".join(data.draw(BUNDLES, label="documents"))
            if bundle
            else data.draw(DOCUMENTS, label="document")
        )
        text = content.encode("utf-8", "surrogatepass")
        how = data.draw(HOW, label="how")
        if how == "bytes":
            text = mutate_bytes(data, text)
        elif how == "raw":
            text = data.draw(raw_json, label="raw").encode("utf-8", "surrogatepass")
        written[f"{index}{name}"] = text
    return written


@counted("statements")
def check_statements(written: dict[str, bytes]) -> None:
    """The property: the attestations are read (issues and notes allowed) or an InputError."""
    here = folder()
    path = here.write(written)
    try:
        load(here.root, here.keyring, path)
    except InputError as error:
        check_input_error(error)


@pytest.mark.parametrize("shard", shards(EXAMPLES))
@fuzz_settings(EXAMPLES)
@given(files())
def test_any_attestation_is_read_or_gives_an_input_error(
    shard: int, written: dict[str, bytes]
) -> None:
    check_statements(written)
