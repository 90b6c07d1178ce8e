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


@pytest.mark.parametrize(
    "document",
    [
        {"a": 1.5},
        {"a": float("nan")},  # orjson writes it `null`
        {"a": None, "b": float("inf")},
        {"a": [float("-inf")]},
        {"a": -0.0},
        {"a": 1e300},
    ],
)
def test_floats_are_refused_as_securesystemslib_refuses_them(document: Any) -> None:
    with pytest.raises(FormatError):
        reference(document)
    with pytest.raises(FormatError):
        canonical_bytes(document)


@pytest.mark.parametrize(
    "document",
    [
        {"big": [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**40]},
        {"\U0001f600": 1, "\uffff": 2, "\u00e9": 3, "z": 4, "": 5},  # code point order
        {"a": None, "b": [None]},
        {"slash": "a/b", "ctl": "\x7f\u2028"},
    ],
)
def test_what_one_encoder_writes_and_another_refuses(document: Any) -> None:
    assert canonical_bytes(document) == reference(document)


class _Text(str):
    pass


def test_types_json_has_no_word_for_are_not_converted() -> None:
    """A str subclass reads as a str (as the standard encoder does); a datetime is refused."""
    from datetime import datetime, timezone

    assert canonical_bytes({"a": _Text("x")}) == b'{"a":"x"}'
    with pytest.raises((TypeError, FormatError)):
        canonical_bytes({"a": datetime(2026, 1, 1, tzinfo=timezone.utc)})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


FLOATING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(FLOATING)
def test_generated_documents_with_floats(document: Any) -> None:
    """Bytes equal to securesystemslib's, or refused as it refuses them."""
    try:
        expected: bytes | type[Exception] = reference(document)
    except (FormatError, UnicodeEncodeError) as exc:
        expected = type(exc)
    try:
        got: bytes | type[Exception] = canonical_bytes(document)
    except (FormatError, UnicodeEncodeError) as exc:
        got = type(exc)
    assert got == expected


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
