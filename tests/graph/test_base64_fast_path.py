"""DSSE base64 through pybase64 gives the standard library's strict answer: the same bytes,
the same refusals (invalid characters, padding, two alphabets, non-ASCII)."""

from __future__ import annotations

import base64
import binascii
import itertools
import os
import random

import pytest

from policy_engine.graph.builders.attestations import envelopes

ALPHABET = "AQw/+=_-\n é\0"  # both alphabets' edges, padding, whitespace, non-ASCII, NUL
HOSTILE = [
    "",
    "=",
    "====",
    "QQ",
    "QQ=",
    "QQ==",
    "QR==",  # trailing bits set
    "QUJD",
    "QUJD====",  # padding after complete groups: the standard library accepts it
    "QUJD=",
    "=QUJD",
    "QU=JD",
    "QQ==QQ==",  # data after padding
    "Q===",
    " QUJD \n",
    "QU JD",
    "QUJD\n",
    "QUJ\u00e9",
    "QUJD\0",
    "-_-_",
    "+/-_",  # two alphabets
    "\uff31\uff31==",  # full-width letters
]


def stdlib(text: str) -> bytes | None:
    """The answer of the standard library alone (the reference)."""
    cleaned = text.strip()
    cleaned += "=" * (-len(cleaned) % 4)

    def strict(value: str) -> bytes | None:
        try:
            return base64.b64decode(value, validate=True)  # strict_mode=True since 3.11
        except (binascii.Error, ValueError):
            return None

    standard = strict(cleaned)
    if standard is not None or ("-" not in cleaned and "_" not in cleaned):
        return standard
    if "+" in cleaned or "/" in cleaned:
        return None
    return strict(cleaned.replace("-", "+").replace("_", "/"))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_texts_read_as_the_standard_library_reads_them(text: str) -> None:
    assert envelopes.b64decode(text) == stdlib(text)


def test_every_short_text_reads_as_the_standard_library_reads_it() -> None:
    texts = ("".join(t) for n in range(6) for t in itertools.product(ALPHABET, repeat=n))
    differ = [t for t in texts if envelopes.b64decode(t) != stdlib(t)]
    assert differ == []


def test_random_texts_and_payloads_read_the_same() -> None:
    rng = random.Random(12)
    texts = ["".join(rng.choices(ALPHABET, k=rng.randint(6, 40))) for _ in range(20_000)]
    for size in (1, 2, 3, 1000, 1_000_001):
        data = os.urandom(size)
        texts += [base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()]
        texts.append(base64.b64encode(data).decode().rstrip("="))
    assert [t for t in texts if envelopes.b64decode(t) != stdlib(t)] == []


def test_pybase64_decodes_only_what_the_standard_library_decodes_alike() -> None:
    """What the fast path relies on: where pybase64 gives bytes they are the stdlib's."""
    texts = ("".join(t) for n in range(6) for t in itertools.product(ALPHABET, repeat=n))
    for text in itertools.chain(texts, HOSTILE):
        try:
            fast = envelopes._simd_base64(text)
        except (binascii.Error, ValueError):
            continue
        assert fast == base64.b64decode(text, validate=True), text
