"""The ``dvc.yaml`` schema with plain stages checked directly gives DVC's ``MULTI_STAGE_SCHEMA``
answer.

On generated stage definitions (plain ones, and every way of not being plain:
wrong types at every level, extra keys, no ``cmd``, ``foreach``/``do``, not a
mapping): the same data (keys in the same order), or the same errors (their
paths and messages, and DVC's own rendering of them).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc.dvcfiles import fast_schema
from tests.graph.test_dvc_lock_schema import outcome, rendered

ODD = st.one_of(
    st.sampled_from(["", "a", "${item}"]),
    st.integers(-1, 3),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.dictionaries(st.sampled_from(["a", "cache"]), st.booleans(), max_size=2),
)
LISTS = st.one_of(
    st.lists(st.sampled_from(["a", "b/c.csv", ""]), max_size=3), st.lists(ODD, max_size=2), ODD
)
PARTS = {
    "deps": LISTS,
    "outs": LISTS,
    "params": LISTS,
    "wdir": ODD,
    "foreach": LISTS,
    "do": st.fixed_dictionaries({"cmd": ODD}),
    "x": ODD,
}
COMMANDS = st.one_of(st.sampled_from(["python t.py", ""]), st.lists(st.just("c"), max_size=2), ODD)
STAGES = st.one_of(
    st.fixed_dictionaries({"cmd": COMMANDS}, optional=PARTS),
    st.fixed_dictionaries({}, optional={**PARTS, "cmd": COMMANDS}),
    st.fixed_dictionaries(
        {"cmd": st.just("c")},
        optional={"deps": st.lists(st.just("d")), "outs": st.lists(st.just("o"))},
    ),
    ODD,
)
EDGE_STAGES = [
    {"cmd": "c"},
    {"outs": ["o"], "cmd": "c", "deps": []},
    {"cmd": "c", "deps": ["d", 1]},
    {"cmd": "c", "deps": "d"},
    {"cmd": "c", "deps": None},
    {"cmd": "c", "outs": [{"o": {"cache": False}}]},
    {"cmd": ["a", "b"]},
    {"cmd": 1},
    {"cmd": None},
    {"deps": ["d"]},
    {"cmd": "c", "wdir": "w"},
    {"cmd": "c", "x": 1},
    {"cmd": "c", 1: 1},
    {"foreach": ["a"], "do": {"cmd": "c"}},
    {"cmd": "c", "do": {"cmd": "c"}},
    {},
    "c",
    None,
    ["c"],
]


def same(data: Any) -> None:
    from dvc.schema import COMPILED_MULTI_STAGE_SCHEMA

    fast = fast_schema(COMPILED_MULTI_STAGE_SCHEMA)
    assert fast is not COMPILED_MULTI_STAGE_SCHEMA
    assert outcome(fast, data) == outcome(COMPILED_MULTI_STAGE_SCHEMA, data)
    expected = rendered(COMPILED_MULTI_STAGE_SCHEMA, data, "dvc.yaml")
    assert rendered(fast, data, "dvc.yaml") == expected


@pytest.mark.parametrize("stage", EDGE_STAGES, ids=repr)
def test_edge_stages(stage: Any) -> None:
    same({"stages": {"s": stage, "t": {"cmd": "c", "outs": ["o"]}}})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stages=st.dictionaries(st.sampled_from(["s", "t", 1]), STAGES, max_size=3))
def test_generated_stages(stages: dict[Any, Any]) -> None:
    same({"stages": stages})
