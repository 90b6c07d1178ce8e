"""Fuzzing the attestation JSON reader: every input is a document or an InputError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine.errors import InputError
from policy_engine.inputs import json_lines, loads
from tests.fuzz.fuzzing import EXAMPLES, counted, fuzz_settings, shards

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
).map(json.dumps)
PIECES = ("{", "}", "[", "]", ",", ":", '"a"', "1" * 5000, "1e999", "-", "0.5", "null", "\\u0000")
raw = st.one_of(
    documents,
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.lists(st.sampled_from(PIECES), max_size=200).map("".join),
    st.integers(0, 500).map(lambda n: "[" * n + "]" * n),
)


@counted("json")
def check_json(text: str) -> None:
    """The property: a document or an InputError, for one document and as JSON Lines."""
    for reader in (
        lambda: loads(text.encode("utf-8", "surrogatepass"), "f.json"),
        lambda: list(json_lines(text.encode("utf-8", "surrogatepass"), "f.jsonl")),
    ):
        with contextlib.suppress(InputError):
            reader()


@pytest.mark.parametrize("shard", shards(EXAMPLES))
@fuzz_settings(EXAMPLES)
@given(raw)
def test_any_json_is_a_document_or_an_input_error(shard: int, text: str) -> None:
    check_json(text)
