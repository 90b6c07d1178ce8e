"""Plain block YAML read line by line gives libyaml's parse and DVC's parser's data, or nothing.

Each text the line reader accepts must give the data and key lines of the
libyaml parse (:mod:`policy_engine.graph.builders.dvc.yamlload` without the
line reader) and the data of DVC's own parser; a text outside the style, or
one libyaml and DVC would read otherwise, is left to them (None). Cases: the
shared corpus, texts DVC's own dumper writes from generated data, those texts
broken one character at a time, and hostile texts.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc import yamlload
from policy_engine.graph.builders.dvc.blockyaml import read_block
from tests.graph.test_dvc_yamlload import CORPUS_YAML, SCALARS, dvc_parse, same


def block(text: str) -> tuple[Any, dict[str, dict[str, int]]] | None:
    """The line reader's answer; None where it leaves the text (or a scalar) to libyaml."""
    scalar = functools.partial(yamlload._plain_data, {})
    try:
        return read_block(text, scalar, yamlload._typed())
    except (yamlload._Unsupported, ValueError):
        return None


def libyaml(text: str) -> yamlload.Parsed | None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlload, "read_block", lambda *args: None)
        return yamlload.parse(text)


def checked(text: str) -> bool:
    """Whether the line reader read ``text``; if so, as libyaml and DVC's parser read it."""
    ours = block(text)
    if ours is None:
        return False
    theirs = libyaml(text)
    if theirs is not None:
        assert same(ours[0], theirs.data), (text, ours[0], theirs.data)
        assert ours[1] == theirs.lines, text
    assert same(ours[0], dvc_parse(text)), text  # DVC's parser reads it, and the same
    parsed = yamlload.parse(text)  # what the builder reads: the line reader's
    assert parsed is not None and same(parsed.data, ours[0]) and parsed.lines == ours[1]
    return True


LOCK = """schema: '2.0'
stages:
  train@1:
    cmd: python train.py --lr 0.1 data/x.csv
    deps:
    - path: data/x.csv
      hash: md5
      md5: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
      size: 17
    - path: src
      hash: md5
      md5: 1a1b2c3d4e5f60718293a4b5c6d7e8f9.dir
      size: 3
      nfiles: 2
    params:
      params.yaml:
        train.lr: 0.1
        flag: true
        none: null
    outs:
    - path: model.pkl
      hash: md5
      md5: e5ebd4c02cefbe7955977c67ada242b7
      size: 1_000
"""
READ = [
    LOCK,
    LOCK.rstrip("\n"),  # no line break at the end
    "stages:\n  s:\n    cmd: x\n    outs:\n    - a/b.bin\n    - 'c: d'\n    - ''\n",
    "a:\n    b: 1\n    c:\n        - x\n        - y\n",  # deeper indentation, indented list
    "s:\n- a:\n  - x\n  b: 2\n- c\n- d: e\n  f:\n    g: h\n",  # lists inside list items
    "1: a\nfalse: b\nnull: c\n0o17: e\n.inf: f\n",  # typed keys
    "a: 0o17\nb: 0x1F\nc: .nan\nd: 1e3\nf: +1\ng: True\nh: yes\ni: ~x\nj: ~\nk: 0b\n",
    "a b: c d\ne: f=g@h\n",
    "k" * 1000 + ": v\n",
    "top: 1\nsection:\n  one: 1\n  two:\n    deep: 2\nlist:\n- x\n",
    "s:\n- a: 1\n  b: 2\n- c: 3\n- d\n- e: 4\n  f:\n  - g: 5\n    h: 6\n  - i: 7\n- j: 8\n",
]


@pytest.mark.parametrize("text", READ)
def test_plain_block_texts_read_as_libyaml_and_dvc_read_them(text: str) -> None:
    assert checked(text)


def test_the_lines_of_top_and_section_keys_are_kept() -> None:
    ours = block(LOCK)
    assert ours is not None
    assert ours[1] == {"": {"schema": 1, "stages": 2}, "stages": {"train@1": 3}}


HOSTILE = [
    "a: 1\n  b: 2\n",  # a value's continuation: a mapping where none may start
    "a: x\n  y\n",  # a scalar over two lines
    "a: x\n  - y\n",
    "a:\n",  # a key without a value
    "a:\nb: 1\n",
    "a: x\n- y\n",
    "- a\n- b\n",  # not a mapping at the top
    "a: 1\na: 2\n",  # duplicate keys, also from two texts
    "1: a\n01: b\n",
    "null: a\n~: b\n",
    "...: x\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "a: 1 # comment\n",
    "a: 'it''s'\n",
    'a: "q"\n',
    "a:\tb\n",
    "a: b \n",  # a trailing space
    "a: b\r\n",
    "\ufeffa: b\n",
    "a: é\n",
    "a: [1]\n",
    "a: {b: 1}\n",
    "a: &x b\nc: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "k" * 1025 + ": v\n",  # longer than a simple key may be
    "a: b\n\nc: d\n",
    "a:  b\n",
    "a: b  c\n",
    "a: - b\n",
    "a: -\n",
    "-   a: b\n",
    "a:\n - x\n  - y\n",
    "a:\n  b: 1\n c: 2\n",
    "a: 2001-12-14\n",  # a timestamp: left to DVC
    "a: =\n",
    "a: 'x\ry'\n",  # a CR inside quotes: folded by YAML
    "a: 'x\x85y'\n",  # a line break for libyaml (YAML 1.1), not for DVC's parser
    "a: 'x\u2028y'\n",
    "a: 'x\x00y'\n",  # control characters: DVC's parser refuses the file
    "a: 'x\x07y'\n",
    "a: 'x\x1by'\n",
    "a: 'x\ty'\n",
    "a: 'caf\u00e9'\n",
    "",
    "\n",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_texts_outside_the_style_are_left_to_libyaml(text: str) -> None:
    assert block(text) is None


KEYS = st.sampled_from(["a", "b", "cmd", "outs", "1", "true", "x y", "s@1", "0o7", "null"])
LEAVES = st.one_of(
    st.sampled_from([s for s in SCALARS if "\n" not in s]),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, width=32),
    st.from_regex(r"[a-z0-9/._ -]{0,12}", fullmatch=True),
    st.from_regex(r"[a-zA-Z0-9~+.][a-z0-9/._@=+~-]{0,10}( [a-z0-9.]{1,4})?", fullmatch=True),
    st.from_regex(r"[0-9][0-9a-f]{0,8}", fullmatch=True),
)
DATA = st.dictionaries(
    KEYS,
    st.recursive(
        LEAVES,
        lambda inner: (
            st.lists(inner, min_size=1, max_size=3)
            | st.dictionaries(KEYS, inner, min_size=1, max_size=3)
        ),
        max_leaves=12,
    ),
    min_size=1,
    max_size=4,
)


def dumped(data: Any) -> str:
    from dvc.utils.serialize import dumps_yaml

    return str(dumps_yaml(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=DATA, where=st.integers(0, 10**6), edit=st.sampled_from(["", " ", "-", ":", "\n", "x"]))
def test_what_dvc_writes_and_its_edits_read_as_libyaml_and_dvc_read_them(
    data: Any, where: int, edit: str
) -> None:
    text = dumped(data)
    checked(text)
    at = where % (len(text) + 1)
    checked(text[:at] + edit + text[at + 1 :])  # a character replaced or removed


def test_most_of_what_dvc_writes_is_read() -> None:
    data = {"stages": {"s": {"cmd": "x y", "deps": [{"path": "a", "md5": "0" * 32}]}}}
    assert checked(dumped(data))


@pytest.mark.skipif(not CORPUS_YAML, reason="no shared corpus")
def test_corpus_files_read_as_libyaml_and_dvc_read_them() -> None:
    read = 0
    for path in CORPUS_YAML:
        text = Path(path).read_text(errors="replace")
        read += checked(text)
    assert read >= 5, read  # locks, at least, are written in the style
