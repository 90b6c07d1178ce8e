"""The fast JSON reading gives the standard library's exact answer, or steps aside.

``inputs.loads`` first lets orjson read a document and vouches for it only when
orjson writes it back to the same text (but for whitespace); otherwise
``json.loads`` with a hook per object decides. The reference here is that
hooked reading alone: every input must give the same document (same types, same
key order) or the same error message.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import inputs
from policy_engine.errors import InputError


def reference(data: bytes) -> Any:
    """The hooked reading alone (what ``loads`` did before the fast path)."""
    numbers = {"parse_int": inputs._number(int), "parse_float": inputs._number(float)}
    return json.loads(data, object_pairs_hook=inputs._no_duplicates, **numbers)


def typed(value: Any) -> Any:
    """``value`` with every scalar's type and every object's key order made visible."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value.hex())
    return (type(value).__name__, value)


def outcome(read: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "document", typed(read(data))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, the hooks' errors
        return "error", f"{type(exc).__name__}: {exc}"


def assert_same(data: bytes) -> None:
    assert outcome(inputs._without_duplicates, data) == outcome(reference, data)


HOSTILE = [
    b'{"a": 1, "a": 2}',
    b'{"a": {"b": 1, "b": 1}}',
    b'{"a": "x", "a": "x"}',  # the same pair twice: the text is longer than the document's
    b'{"a:": 1, "a": 2, "a": 3}',  # a colon in a string beside a repeat
    b'{"a": "\\u003a", "a": "\\u003a"}',  # an escaped colon: orjson writes it as `:`
    b'{"a": "x\\"", "a": 1}',
    b'{"a": "x \\" y", "a": "x \\" y"}',
    b'{"s": "tab\\there\\nnewline \\/ \\u00e9 \\ud83d\\ude00"}',
    b'{"k": 123456789012345678901234567890}',  # beyond 64 bits: orjson makes it a float
    b'{"k": 18446744073709551616}',
    b'{"k": -9223372036854775809}',
    b'{"k": 18446744073709551615, "m": -9223372036854775808}',
    b'{"k": 1e400}',
    b'{"k": 1e5, "f": 1.5, "g": 0.1, "h": 1E+16, "i": 1e+16, "z": -0, "y": -0.0}',
    b"[1." + b"0" * 150 + b"1]",  # longer than MAX_NUMBER_CHARS
    b"[" + b"1" * 150 + b"]",
    b"[NaN, Infinity, -Infinity]",
    b'"\\ud800"',
    b'"\xff"',
    b"\xef\xbb\xbf{}",
    b'{"a": 1}'.decode().encode("utf-16"),
    b'{"a": 1} x',
    b'{"a": 1}{"a": 1}',
    b'{"a" : 1 ,\n\t"b" : [ 1 , 2 ] }\r\n',
    b'{"white space": "in strings", "whitespace": "instrings"}',
    b'{"a b": 1, "ab": 1}',
    b'{"\x7f": "\xe2\x80\xa8"}',
    b'"\x01"',
    b"",
    b"   ",
    b"[" * 2000 + b"]" * 2000,
    b"true",
    b"null",
]


@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs_read_as_the_standard_library_reads_them(data: bytes) -> None:
    assert_same(data)


def test_a_repeated_key_is_still_refused_by_loads() -> None:
    with pytest.raises(InputError, match="duplicate JSON key `a`"):
        inputs.loads(b'{"a": "x", "a": "x"}', "f.json")


def test_a_plain_document_takes_the_fast_path() -> None:
    """A document without escapes or floats is orjson's: the path this speeds up is taken."""
    data = json.dumps({"materials": {"a:b": {"sha256": "00"}}, "n": [1, -2]}, indent=1)
    assert inputs._fast(data.encode()) == json.loads(data)
    escaped = b'{"stdout": "line\\n\\"quoted\\" \\\\ end\\t"}'
    assert inputs._fast(escaped) == json.loads(escaped)
    assert inputs._fast(b'{"a": 1, "a": 2}') is inputs._UNSURE
    assert inputs._fast(b'{"a": "\\u003a", "a": "\\u003a"}') is inputs._UNSURE


KEYS = st.sampled_from(["a", "b", "a:", " a", "a ", "é", ""]) | st.text(max_size=6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.lists(st.tuples(KEYS, inner), max_size=4),
    max_leaves=20,
)


def written(value: Any, indent: int | None, ascii_only: bool) -> str:
    """JSON text for ``value``, where a list of pairs is an object (so keys may repeat)."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        pairs = (f"{json.dumps(k, ensure_ascii=ascii_only)}: " for k, _ in value)
        inner = (written(v, indent, ascii_only) for _, v in value)
        return "{" + ", ".join(p + v for p, v in zip(pairs, inner, strict=True)) + "}"
    if isinstance(value, list):
        return (
            "["
            + (",\n " if indent else ",").join(written(v, indent, ascii_only) for v in value)
            + "]"
        )
    return json.dumps(value, ensure_ascii=ascii_only)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.sampled_from([None, 1]), st.booleans())
def test_generated_documents_read_as_the_standard_library_reads_them(
    value: Any, indent: int | None, ascii_only: bool
) -> None:
    assert_same(written(value, indent, ascii_only).encode())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ['{"a":', '"a:"', "1", "1.0", "1e5", ",", "}", "[", "]", " ", '"\\u003a"', "-0"]
        ),
        max_size=30,
    )
)
def test_fragments_read_as_the_standard_library_reads_them(pieces: list[str]) -> None:
    assert_same("".join(pieces).encode())


def nested(levels: int, wide: int) -> bytes:
    """``levels`` nested objects whose innermost holds ``wide`` values."""
    inner = "[" + ", ".join(['"x"'] * wide) + "]"
    return ('{"a": ' * (levels - 1) + inner + "}" * (levels - 1)).encode()


@pytest.mark.parametrize("wide", [1, 2000], ids=["few values", "many values"])
def test_the_depth_limit_holds_for_few_and_many_values(wide: int) -> None:
    limit = inputs.MAX_JSON_DEPTH
    assert inputs.loads(nested(limit, wide), "f.json")
    with pytest.raises(InputError, match=f"nested deeper than {limit} levels"):
        inputs.loads(nested(limit + 1, wide), "f.json")


JSON_VALUES = st.recursive(
    st.sampled_from([0, "x", "[", "{[", None]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab["), inner),
    max_leaves=80,
)


@given(JSON_VALUES, st.integers(0, inputs.MAX_JSON_DEPTH + 2))
def test_too_deep_is_the_exact_depth(value: Any, wrap: int) -> None:
    """Bracket counting, the budgeted walk and the bracket passes say what the depth says."""
    document = value
    for _ in range(wrap):
        document = [document]
    raw = json.dumps(document).encode()
    expected = inputs.depth(document) > inputs.MAX_JSON_DEPTH
    assert inputs._too_deep(raw, document) is expected


def test_a_file_that_grows_after_stat_is_read_whole_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read is sized by stat; a file that grew since is read on, never past the limit."""
    path = tmp_path / "grown.json"
    path.write_bytes(b'{"a": "' + b"x" * 1000 + b'"}')
    real_fstat = os.fstat

    def stale(fd: int) -> Any:
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, *info[1:6], 10, *info[7:]))  # st_size 10

    monkeypatch.setattr(inputs.os, "fstat", stale)
    assert inputs.read_bytes(path, "grown.json") == path.read_bytes()
    with pytest.raises(InputError, match="larger than 100 bytes"):
        inputs.read_bytes(path, "grown.json", limit=100)


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (5 << 19) + 3])
def test_read_bytes_gives_the_whole_file_at_every_size(tmp_path: Path, size: int) -> None:
    """Read on the descriptor in chunks of a mebibyte: empty, one chunk, several; a byte
    over the limit is refused."""
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    assert inputs.read_bytes(path, "data.bin") == path.read_bytes()
    assert inputs.read_bytes(path, "data.bin", limit=size) == path.read_bytes()
    with pytest.raises(InputError, match="larger than"):
        inputs.read_bytes(path, "data.bin", limit=size - 1)
