"""The lock schema with plain stages and items checked directly gives DVC's ``LOCKFILE_SCHEMA``
answer.

On every ``dvc.lock`` of the shared corpus, on generated lock items (plain ones
and every way of not being plain: upper-case or short digests, numbers,
booleans, empty strings, extra keys, no path, not a mapping), on generated lock
stages (wrong types at every level, extra keys, no ``cmd``, not a mapping) and
on corpus locks mutated by the fuzzing mutators: the same data (keys in the
same order), or the same errors (their paths and messages, and DVC's own
rendering of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc.dvcfiles import fast_schema
from tests.fuzz.mutate import mutate

CORPUS = Path("/work/shared/corpus")
LOCKS = sorted(CORPUS.glob("**/dvc.lock")) if CORPUS.is_dir() else []
KEYS = ["path", "md5", "hash", "size", "nfiles", "isdir", "etag", "cloud", "files", "x"]
VALUES = st.one_of(
    st.sampled_from(["", "ab", "abc", "ABC123", "0123456789abcdef", "md5", "a/b.csv", "ÀB"]),
    st.integers(-3, 10**6),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(KEYS), st.integers(), max_size=2),
)
ITEMS = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5),
    st.fixed_dictionaries(
        {"path": st.sampled_from(["a", "b/c.csv"])},
        optional={"md5": VALUES, "hash": VALUES, "size": VALUES, "nfiles": VALUES},
    ),
    VALUES,
)


def outcome(schema: Any, data: Any) -> Any:
    from voluptuous import MultipleInvalid

    try:
        return "valid", repr(schema(data))  # repr: the keys' order too
    except MultipleInvalid as exc:
        return sorted((str(error), tuple(map(str, error.path))) for error in exc.errors)


def rendered(schema: Any, data: Any, path: str = "dvc.lock") -> str | None:
    from dvc.utils.strictyaml import YAMLValidationError, validate

    try:
        validate(data, schema, text=yaml.safe_dump(data), path=path)
    except YAMLValidationError as exc:
        return str(exc) + repr(exc.__cause__)
    return None


def same(data: Any) -> None:
    from dvc.schema import COMPILED_LOCKFILE_SCHEMA

    fast = fast_schema(COMPILED_LOCKFILE_SCHEMA)
    assert fast is not COMPILED_LOCKFILE_SCHEMA
    assert outcome(fast, data) == outcome(COMPILED_LOCKFILE_SCHEMA, data)
    assert rendered(fast, data) == rendered(COMPILED_LOCKFILE_SCHEMA, data)


@pytest.mark.skipif(not LOCKS, reason="no shared corpus")
@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: str(path.relative_to(CORPUS)))
def test_corpus_locks(lock: Path) -> None:
    same(yaml.safe_load(lock.read_text()))


EDGE_ITEMS = [
    {"path": "a", "md5": "0123456789abcdef", "size": 3, "hash": "md5"},
    {"path": "a", "md5": "ABC123"},
    {"path": "a", "md5": "ÀBc"},
    {"path": "a", "md5": "ab"},
    {"path": "a", "md5": ""},
    {"path": "a", "md5": 12345},
    {"path": "a", "md5": None},
    {"path": "a", "size": True},
    {"path": "a", "size": "3"},
    {"path": "a", "nfiles": 2, "isdir": True},
    {"path": 3},
    {"md5": "abc"},
    {"path": "a", "x": 1},
    "a",
    None,
    ["a"],
]


@pytest.mark.parametrize("item", EDGE_ITEMS, ids=repr)
def test_edge_items(item: Any) -> None:
    same({"schema": "2.0", "stages": {"s": {"cmd": "c", "deps": [item], "outs": [item, item]}}})


@settings(max_examples=400, deadline=None)
@given(deps=st.lists(ITEMS, max_size=3), outs=st.lists(ITEMS, max_size=3))
def test_generated_items(deps: list[Any], outs: list[Any]) -> None:
    same({"schema": "2.0", "stages": {"s": {"cmd": "c", "deps": deps, "outs": outs}}})


@pytest.mark.skipif(not LOCKS, reason="no shared corpus")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_corpus_locks(data: st.DataObject) -> None:
    lock = data.draw(st.sampled_from(LOCKS), label="lock")
    same(mutate(data, yaml.safe_load(lock.read_text()), KEYS))


NAMES = st.sampled_from(["a", "b.yaml", "", 1, True, None])
PARAMS = st.one_of(
    st.dictionaries(
        NAMES, st.one_of(st.dictionaries(NAMES, VALUES, max_size=2), VALUES), max_size=2
    ),
    VALUES,
)
COMMANDS = st.one_of(
    st.sampled_from(["python t.py", ""]), st.lists(st.just("c"), max_size=2), VALUES
)
STAGE_PARTS = {
    "deps": st.one_of(st.lists(ITEMS, max_size=2), VALUES),
    "outs": st.one_of(st.lists(ITEMS, max_size=2), VALUES),
    "params": PARAMS,
    "md5": VALUES,
}
STAGES = st.one_of(
    st.fixed_dictionaries({"cmd": COMMANDS}, optional=STAGE_PARTS),
    st.fixed_dictionaries({}, optional={**STAGE_PARTS, "cmd": COMMANDS}),
    st.fixed_dictionaries(
        {"cmd": st.just("c"), "outs": st.lists(st.fixed_dictionaries({"path": st.just("o")}))},
        optional={"deps": st.lists(st.fixed_dictionaries({"path": st.just("d")}))},
    ),
    VALUES,
)

EDGE_STAGES = [
    {"cmd": "c"},
    {"cmd": "c", "deps": [], "outs": []},
    {"cmd": "c", "params": {"params.yaml": {"lr": 0.1, "nested": {"a": [1]}}}, "outs": []},
    {"outs": [], "cmd": "c", "deps": [{"path": "d", "md5": "abc", "size": 1}]},
    {"cmd": ["a", "b"]},
    {"cmd": 1},
    {"cmd": None},
    {"cmd": True},
    {"deps": []},
    {},
    {"cmd": "c", "deps": None},
    {"cmd": "c", "deps": {"path": "d"}},
    {"cmd": "c", "outs": [{"path": "o", "md5": "ABC"}]},
    {"cmd": "c", "outs": [{"path": "o", "size": True}]},
    {"cmd": "c", "params": {"": {"": 1}, "p.yaml": {}}},
    {"cmd": "c", "params": {"p.yaml": {1: 2}}},
    {"cmd": "c", "params": {"p.yaml": None}},
    {"cmd": "c", "params": {1: {"a": 1}}},
    {"cmd": "c", "params": ["p.yaml"]},
    {"cmd": "c", "x": 1},
    {"cmd": "c", 1: 1},
    "c",
    None,
    ["c"],
]


@pytest.mark.parametrize("stage", EDGE_STAGES, ids=repr)
def test_edge_stages(stage: Any) -> None:
    same({"schema": "2.0", "stages": {"s": stage, "t": {"cmd": "c", "outs": [{"path": "o"}]}}})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stages=st.dictionaries(st.sampled_from(["s", "t", 1]), STAGES, max_size=3))
def test_generated_stages(stages: dict[Any, Any]) -> None:
    same({"schema": "2.0", "stages": stages})
