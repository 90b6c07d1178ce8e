"""Fuzzing the model-signature reader: any ``model.sig`` beside a model ends in a verified
or unverified signature (with notes and issues) or the engine's ``InputError``; never
another exception, never a second.

Inputs start from a signature ``model_signing`` made over a small model with a key
the keyring trusts: the bundle's structure mutated, its signed payload mutated (the
signature then fails), its bytes mutated, or raw JSON. Every builder runs, through
the graph's public entry ``build_graph``, on one repository per process.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from policy_engine.errors import InputError
from policy_engine.graph.build import build_graph
from policy_engine.graph.builders import BuildContext
from policy_engine.keys import Keyring, load_public_key
from policy_engine.produce.models import sign_model
from tests.fuzz.fuzzing import EXAMPLES, check_input_error, counted, fuzz_settings, shards
from tests.fuzz.mutate import mutate, mutate_bytes
from tests.fuzz.test_fuzz_json import raw as raw_json

MEMORY = "/dev/shm"
KEYS = (
    "mediaType", "verificationMaterial", "publicKey", "hint", "certificate", "rawBytes",
    "x509CertificateChain", "certificates", "tlogEntries", "dsseEnvelope", "payload",
    "payloadType", "signatures", "sig", "keyid", "_type", "subject", "predicateType",
    "predicate", "resources", "name", "digest", "algorithm", "serialization", "method",
    "hash_type", "allow_symlinks", "ignore_paths", "sha256",
)  # fmt: skip


class Model:
    """This process's repository: a model folder signed by a trusted key."""

    def __init__(self) -> None:
        memory = MEMORY if os.path.isdir(MEMORY) else None
        self.root = Path(tempfile.mkdtemp(prefix="mlpolicy-fuzz-modelsig-", dir=memory))
        self.folder = self.root / "models" / "m"
        self.folder.mkdir(parents=True)
        (self.folder / "weights.bin").write_bytes(b"\0\1\2" * 100)
        (self.folder / "config.txt").write_text("layers: 2\n")
        private = ec.generate_private_key(ec.SECP256R1())
        secret, public = self.root / "release.pem", self.root / "release.pub"
        secret.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        public.write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.signature = self.folder / "model.sig"
        sign_model(self.folder, secret, self.signature)
        secret.unlink()
        self.bundle: dict[str, Any] = json.loads(self.signature.read_bytes())
        self.payload = json.loads(base64.b64decode(self.bundle["dsseEnvelope"]["payload"]))
        self.keyring = Keyring({"release": load_public_key(public)})


@functools.cache
def model() -> Model:
    """The process's model, signed on first use (so collecting the suite signs nothing)."""
    return Model()


@st.composite
def signatures(draw: st.DrawFn) -> bytes:
    """The model's signature: as signed, or mutated in structure, payload or bytes, or raw."""
    data = draw(st.data())
    here = model()
    bundle = here.bundle
    how = data.draw(st.sampled_from(("as signed", "structure", "payload", "bytes", "raw")))
    if how == "structure":
        bundle = mutate(data, bundle, KEYS)
    elif how == "payload":
        payload = json.dumps(mutate(data, here.payload, KEYS)).encode()
        envelope = {**bundle["dsseEnvelope"], "payload": base64.b64encode(payload).decode()}
        bundle = {**bundle, "dsseEnvelope": envelope}
    text = json.dumps(bundle).encode()
    if how == "bytes":
        text = mutate_bytes(data, text)
    elif how == "raw":
        text = data.draw(raw_json, label="raw").encode("utf-8", "surrogatepass")
    return text


@counted("modelsig")
def check_modelsig(signature: bytes) -> None:
    """The property: the graph is built (the signature verified or not), or an InputError."""
    here = model()
    here.signature.write_bytes(signature)
    context = BuildContext(here.root, here.keyring, (here.folder,), hash_cache=False)
    try:
        build_graph(context)
    except InputError as error:
        check_input_error(error)


@pytest.mark.slow  # every builder, and model_signing's verification, per input
@pytest.mark.parametrize("shard", shards(EXAMPLES))
@fuzz_settings(EXAMPLES)
@given(signatures())
def test_any_model_signature_is_read_or_gives_an_input_error(shard: int, signature: bytes) -> None:
    check_modelsig(signature)
