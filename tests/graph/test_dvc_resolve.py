"""A plain stage's definition, copied, is exactly what DVC's resolver gives back.

:func:`fastload.resolve_one` skips DVC's ``DataResolver.resolve_one`` for a
plain stage. Each case compares both on a resolver of its own: the result,
its key order and the type of every value, the variables DVC tracks for the
stage, or the error raised. Stages come from every DVC project of the shared
corpus and the fixtures, from a table of written cases (``${`` in keys,
values and nested lists, escaped ``\\${``, ``vars``, ``wdir``, params, odd
scalars, generated stages, names with ``@``, hostile data) and from
hypothesis.
"""

from __future__ import annotations

import datetime
import math
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc import dvcfiles
from policy_engine.graph.builders.dvc.fastload import plain_definition, resolve_one
from policy_engine.graph.builders.dvc.repo import open_read_only
from tests.corpus.test_dvc_corpus import CORPUS, DVC_FOLDERS

REPO = Path(__file__).resolve().parents[2]


def shape(data: Any) -> Any:
    """``data`` with every value's type and every mapping's key order (NaN equal to NaN)."""
    if isinstance(data, dict):
        return type(data).__name__, tuple((shape(k), shape(v)) for k, v in data.items())
    if isinstance(data, set | frozenset):
        return type(data).__name__, tuple(sorted(map(repr, data)))
    if isinstance(data, list | tuple):
        return type(data).__name__, tuple(map(shape, data))
    return type(data).__name__, repr(data)


def outcome(resolve: Any, resolver: Any, name: str) -> Any:
    """What resolving ``name`` gives: the data and the variables tracked, or the error."""
    try:
        data = resolve(resolver, name)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return shape(data), shape(resolver.tracked_vars.get(name))


def dvcs(resolver: Any, name: str) -> Any:
    return resolver.resolve_one(name)[name]


def compare(make: Any) -> int:
    """Compare both on every stage of the resolvers ``make()`` gives; the number resolved fast."""
    ours, theirs = make(), make()
    fast = 0
    for name in theirs.get_keys():
        assert outcome(resolve_one, ours, name) == outcome(dvcs, theirs, name), name
        fast += plain_definition(ours, name) is not None
    return fast


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from dvc.repo import Repo

    root = tmp_path_factory.mktemp("resolve")
    Repo.init(os.fspath(root), no_scm=True).close()
    (root / "params.yaml").write_text("x: 1\nlr: 0.5\nnames: [a, b]\nd: {k: v}\n")
    (root / "more.yaml").write_text("y: two\n")
    with open_read_only(root) as opened:
        yield opened


def resolver_of(repo: Any, stages: dict[str, Any], **top: Any) -> Any:
    from dvc.parsing import DataResolver

    return lambda: DataResolver(repo, repo.root_dir, {**top, "stages": stages})


SHARED = ["o/a", {"o/b": {"cache": True}}]
PLAIN: dict[str, Any] = {
    "plain": {"cmd": "python a.py", "deps": ["a.py", "d/raw.csv"], "outs": ["o/1", "o/2"]},
    "cmd-list": {"cmd": ["echo a", "echo b"], "outs": []},
    "flags": {
        "cmd": "x",
        "outs": [{"m.pkl": {"cache": False, "persist": True, "desc": "model", "labels": ["a"]}}],
        "metrics": [{"m.json": {"cache": False}}],
        "plots": [{"p.csv": {"x": "step", "y": {"a.csv": ["acc", "loss"]}}}, "q.csv"],
    },
    "params": {"cmd": "x", "params": ["lr", {"p.yaml": ["a.b", "c"]}, {"q.yaml": None}]},
    "wdir": {"cmd": "make", "wdir": "sub", "deps": ["../a"], "outs": ["b"]},
    "wdir-empty": {"cmd": "make", "wdir": "", "outs": ["b"]},
    "wdir-null": {"cmd": "make", "wdir": None},
    "wdir-zero": {"cmd": "make", "wdir": 0},
    "scalars": {
        "cmd": "x",
        "frozen": True,
        "always_changed": False,
        "desc": None,
        "meta": {
            "n": 3,
            "big": 10**30,
            "neg": -1,
            "f": 1.5,
            "inf": math.inf,
            "nan": math.nan,
            "t": True,
            "none": None,
            "nested": [[1, [2, {"a": [None, False]}]], {}],
            "empty": [],
            3: "int key",
            True: "bool key",
            None: "null key",
            2.5: "float key",
        },
    },
    "dollars": {"cmd": "echo $HOME $ {x} {x} $x} } $", "meta": {"$": "{", "}": "$"}},
    "unicode": {"cmd": "echo ünïcödé ✓ \x00 \t", "outs": ["données/é.bin"]},
    "odd-top": {"cmd": "x", 1: "top int key"},
    "shared": {"cmd": "x", "outs": SHARED, "deps": SHARED},  # as a YAML alias gives it
}
TEMPLATED: dict[Any, Any] = {
    "in-cmd": {"cmd": "echo ${x}", "outs": ["o"]},
    "exact": {"cmd": "x", "meta": {"lr": "${lr}", "names": "${names}", "d": "${d}"}},
    "top-key": {"cmd": "x", "${top}": "DVC leaves it: this path too"},
    "spaced": {"cmd": "echo ${ }"},
    "in-key": {"cmd": "x", "meta": {"${y}": 1}},
    "nested-list": {"cmd": "x", "outs": [[["a", ["${x}"]]]]},
    "in-dep": {"cmd": "x", "deps": ["data/${x}.csv"]},
    "escaped": {"cmd": "echo \\${x} and \\${y}", "outs": ["\\${x}"]},
    "unclosed": {"cmd": "echo ${x", "outs": ["${"]},
    "syntax-error": {"cmd": "echo ${x[}"},
    "missing": {"cmd": "echo ${nope}"},
    "dict-into-text": {"cmd": "x", "outs": ["${d}"]},
    "dict-into-cmd": {"cmd": "train ${d}"},
    "wdir-templated": {"cmd": "x", "wdir": "${y}", "vars": ["more.yaml"]},
    "wdir-int": {"cmd": "x", "wdir": 5},
    "wdir-list": {"cmd": "x", "wdir": ["a"]},
    "vars-inline": {"vars": [{"z": 3}], "cmd": "echo plain"},
    "vars-file": {"vars": ["more.yaml"], "cmd": "echo ${y}"},
    "vars-empty": {"vars": [], "cmd": "echo plain"},
    "vars-templated": {"vars": ["${y}.yaml"], "cmd": "echo plain"},
    "do-alone": {"do": {"cmd": "x"}, "cmd": "x"},
    "date": {"cmd": "x", "meta": {"when": datetime.date(2024, 2, 29)}},
    "datetime": {"cmd": "x", "meta": [datetime.datetime(2024, 1, 1, 12, 0)]},
    "tuple": {"cmd": "x", "meta": ("a", "${x}")},
    "set": {"cmd": "x", "meta": {"a", "b"}},
    "bytes": {"cmd": "x", "meta": b"${x}"},
    "text-subclass": {"cmd": type("Text", (str,), {})("echo plain")},
    "not-a-dict": ["cmd", "x"],
    "each": {"foreach": ["a", "b"], "do": {"cmd": "echo ${item}", "outs": ["${item}"]}},
    "grid": {"matrix": {"m": [1, 2]}, "cmd": "echo ${item.m}"},
    "a@b": {"cmd": "plain, but named as a generated stage"},
    "each@a": {"cmd": "named as a member of each"},
    7: {"cmd": "a name that is not a text"},
}


def test_plain_stages_resolve_as_dvc_resolves_them(repo: Any) -> None:
    assert compare(resolver_of(repo, PLAIN)) == len(PLAIN)  # all of them plain


def test_templated_and_odd_stages_are_left_to_dvc(repo: Any) -> None:
    assert compare(resolver_of(repo, TEMPLATED)) == 0


def test_project_vars_leave_plain_stages_plain(repo: Any) -> None:
    make = resolver_of(repo, {**PLAIN, **TEMPLATED}, vars=["more.yaml", {"w": 2}])
    assert compare(make) == len(PLAIN)


def test_the_copy_shares_nothing_with_the_definition(repo: Any) -> None:
    resolver = resolver_of(repo, PLAIN)()
    data = resolve_one(resolver, "shared")
    data["outs"][1]["o/b"]["cache"] = False
    data["deps"].append("more")
    assert resolver.definitions["shared"].definition == PLAIN["shared"]
    assert resolver.tracked_vars["shared"] == defaultdict(dict)


def test_hostile_nesting_fails_as_dvc_fails(repo: Any) -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    compare(resolver_of(repo, {"deep": {"cmd": "x", "meta": deep}}))


def test_many_generated_stages_resolve_as_dvc_resolves_them(repo: Any) -> None:
    stages = {
        f"s{i:04}": {
            "cmd": f"python step.py {i}" + (" ${x}" if i % 7 == 0 else ""),
            "deps": [f"out/s{i - 1:04}/{k}.bin" for k in range(i % 3)],
            "outs": [f"out/s{i:04}/{k}.bin" for k in range(10)]
            + ([{"m": {"cache": False}}] * (i % 2)),
        }
        for i in range(500)
    }
    assert compare(resolver_of(repo, stages)) == 500 - len(range(0, 500, 7))


TEXTS = st.text(alphabet="ab${}\\ .é", max_size=8)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXTS
DATA = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SCALARS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["cmd", "deps", "outs", "meta", "wdir", "x"]), DATA))
def test_any_stage_resolves_as_dvc_resolves_it(repo: Any, definition: dict[str, Any]) -> None:
    compare(resolver_of(repo, {"stage": definition}))


def pipelines() -> list[Path]:
    """Every ``dvc.yaml`` of the fixtures and of the corpus's DVC projects."""
    folders = [REPO / "fixtures", *(CORPUS / folder for folder in DVC_FOLDERS)]
    return sorted(
        path for folder in folders if folder.is_dir() for path in folder.rglob("dvc.yaml")
    )


def label(path: Path) -> str:
    return str(path.relative_to(CORPUS if CORPUS in path.parents else REPO).parent)


@pytest.mark.parametrize("path", pipelines(), ids=label)
def test_real_pipelines_resolve_as_dvc_resolves_them(tmp_path: Path, path: Path) -> None:
    from dvc.repo import Repo

    shutil.copytree(path.parent, tmp_path / "repo", symlinks=True)  # never opened where it is
    root = tmp_path / "repo"
    if not (root / ".dvc").is_dir():
        Repo.init(os.fspath(root), no_scm=True).close()
    with open_read_only(root) as opened:
        compare(lambda: dvcfiles.load_file(opened, str(root / "dvc.yaml")).resolver)


def test_real_pipelines_are_found() -> None:
    found = pipelines()
    assert len(found) >= 3  # the fixtures at least
    assert any(CORPUS in path.parents for path in found) or not CORPUS.is_dir()
