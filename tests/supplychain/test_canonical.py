"""The fast canonical JSON gives securesystemslib's exact bytes: on the corpus and edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.exceptions import FormatError
from securesystemslib.formats import encode_canonical

from policy_engine.graph.builders.attestations.canonical import canonical_bytes

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def reference(document: Any) -> bytes:
    return encode_canonical(document).encode("utf-8")  # type: ignore[union-attr]


EDGE_CASES: list[Any] = [
    {"b": 1, "a": [True, False, None, -0, 10**30]},
    {'quote"': "back\\slash", "nl": "line\nbreak\ttab\x00\x1f", "del": "\x7f"},
    {"unicode": "ünïcödé \u2028 \u2029 😀", "é": "key order by code point", "z": "", "Z": ""},
    {"nested": [[[{}]], [], {"": ""}], "empty": {}},
    ["top", "level", "list"],
    "a string",
    12345,
]


@pytest.mark.parametrize("document", EDGE_CASES)
def test_edge_cases(document: Any) -> None:
    assert canonical_bytes(document) == reference(document)


def test_floats_are_refused_as_securesystemslib_refuses_them() -> None:
    with pytest.raises(FormatError):
        canonical_bytes({"a": 1.5})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_generated_documents(document: Any) -> None:
    try:
        expected = reference(document)
    except UnicodeEncodeError:  # lone surrogates: neither can encode them
        with pytest.raises(UnicodeEncodeError):
            canonical_bytes(document)
        return
    assert canonical_bytes(document) == expected


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not present at {CORPUS}")
def test_every_signed_document_of_the_in_toto_corpus() -> None:
    files = [p for p in (CORPUS / "in-toto").rglob("*") if p.suffix in (".link", ".template")]
    files += [p for p in (CORPUS / "in-toto-golang").rglob("*") if p.suffix in (".link", ".layout")]
    signed = [json.loads(p.read_text())["signed"] for p in files if '"signed"' in p.read_text()]
    assert len(signed) >= 10
    for document in signed:
        assert canonical_bytes(document) == reference(document)
