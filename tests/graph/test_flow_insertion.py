"""A pipeline file's steps and edges added at once make the graph its one-by-one calls make.

:class:`FlowInsertion` takes ``add_step``, ``add_input``, ``add_output`` and
``add_declaration`` calls and writes them in bulk. The reference is the same
calls made on the graph itself: nodes (and their attributes, claims and
declarations), edges (keys, data), adjacency order in both directions, the flow
graph and the issues must be equal: for hand-made and random call sequences,
and for whole DVC builds of the fixtures, the corpus and generated pipelines
(shared, duplicate and directory outputs, foreach stages, hostile paths).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import build_dvc, project
from policy_engine.graph.flows import FlowInsertion, Flows
from policy_engine.graph.model import Declaration, ProvenanceGraph, SourceRef, Step
from policy_engine.keys import Keyring

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_PROJECTS = sorted(p.parent for p in CORPUS.glob("dvc-*/**/.dvc") if p.is_dir())
FIXTURE_PROJECTS = sorted(p.parent for p in (REPO / "fixtures").glob("*/.dvc") if p.is_dir())

Call = Callable[[Flows], Any]


def snapshot(graph: ProvenanceGraph) -> tuple[Any, ...]:
    """Everything a reader can see of the graph, in order; shared edge dicts checked too."""
    g: nx.MultiDiGraph[str] = graph.g
    succ, pred = vars(g)["_succ"], vars(g)["_pred"]
    assert all(succ[u][v] is pred[v][u] for u in succ for v in succ[u])
    fsucc, fpred = vars(graph.flow)["_succ"], vars(graph.flow)["_pred"]
    assert all(fsucc[u][v] is fpred[v][u] for u in fsucc for v in fsucc[u])
    return (
        [(n, dict(attrs)) for n, attrs in g.nodes(data=True)],
        list(g.edges(keys=True, data=True)),
        {n: list(g.pred[n]) for n in g},
        [(n, dict(attrs)) for n, attrs in graph.flow.nodes(data=True)],
        list(graph.flow.edges(data=True)),
        {n: list(graph.flow.pred[n]) for n in graph.flow},
        list(graph.issues),
    )


def _made(before: list[Call], calls: list[Call], bulk: bool) -> ProvenanceGraph:
    graph = ProvenanceGraph("/repo")
    for call in before:
        call(graph)
    plan = FlowInsertion(graph) if bulk else graph
    for call in calls:
        call(plan)
    if isinstance(plan, FlowInsertion):
        plan.apply()
    return graph


def assert_same(before: list[Call], calls: list[Call]) -> None:
    assert snapshot(_made(before, calls, True)) == snapshot(_made(before, calls, False))


def step(name: str, line: int = 1) -> Call:
    return lambda into: into.add_step(Step(name, SourceRef("dvc.yaml", line)))


def flow(kind: str, name: str, path: str, digest: dict[str, str], line: int = 2) -> Call:
    source = SourceRef("dvc.lock", line, f"stage `{name}` {kind}")
    if kind == "dep":
        return lambda into: into.add_input(path, name, digest, source)
    return lambda into: into.add_output(name, path, digest, source)


def declare(path: str, role: str = "metrics") -> Call:
    return lambda into: into.add_declaration(path, Declaration(role, SourceRef("dvc.yaml", 9)))


MD5 = {"md5": "ab" * 16}
BOTH = {"md5": "cd" * 16, "etag": "x", "checksum": "y"}


def test_a_pipeline_of_hard_cases_is_the_one_by_one_graph() -> None:
    before = [
        step("prepare"),
        flow("out", "prepare", "data/clean.csv", MD5),
        declare("data/clean.csv", "plots"),
        flow("dep", "prepare", "raw.csv", {}),
    ]
    calls = [
        step("train"),
        flow("dep", "train", "data/clean.csv", MD5),  # a known artifact
        flow("dep", "train", "data/clean.csv", BOTH),  # the same edge again: data updated
        flow("out", "train", "model.bin", BOTH),  # several digests: claims by algorithm
        flow("out", "train", "model.bin", {}),
        flow("dep", "train", "model.bin", MD5),  # read and written by one step
        declare("model.bin", "out"),
        declare("model.bin", "metrics"),
        declare("never/an/edge.txt"),  # an artifact only declared
        step("prepare", 7),  # defined again: an issue, its edges still added
        flow("out", "prepare", "data/clean.csv", MD5),  # a known edge, another source
        step("train", 8),  # defined again within the batch
        flow("out", "ghost", "ghost.txt", MD5),  # a step nobody added: a bare node
        flow("dep", "train", "a b/ü\\x:y.bin", MD5),
        flow("dep", "train", "", {}),
        flow("out", "train", "artifact:step:train", MD5),
    ]
    assert_same(before, calls)


PATHS = st.sampled_from(["a", "b", "d/c.bin", "artifact:x", "é ü", ""])
STEPS = st.sampled_from(["s1", "s2", "dvc.yaml:s1", "s@x"])
DIGESTS = st.sampled_from([{}, MD5, BOTH, {"md5": "ef" * 16}])
CALLS = st.one_of(
    st.builds(step, STEPS, st.integers(1, 3)),
    st.builds(flow, st.sampled_from(["dep", "out"]), STEPS, PATHS, DIGESTS, st.integers(1, 3)),
    st.builds(declare, PATHS, st.sampled_from(["metrics", "plots", "out"])),
)


@settings(max_examples=300, deadline=None)
@given(before=st.lists(CALLS, max_size=6), calls=st.lists(CALLS, max_size=16))
def test_random_calls_make_the_one_by_one_graph(before: list[Call], calls: list[Call]) -> None:
    assert_same(before, calls)


class _OneByOne:
    """What the project reader used before: each call made on the graph at once."""

    def __init__(self, graph: ProvenanceGraph) -> None:
        self.graph = graph

    def __getattr__(self, name: str) -> Any:
        return getattr(self.graph, name)

    def apply(self) -> None:
        pass


def both_builds(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    def build() -> tuple[Any, ...]:
        graph = ProvenanceGraph(str(root))
        context = BuildContext(root, Keyring({}))
        build_dvc(graph, context)
        return snapshot(graph), context.deferred

    bulk = build()
    with monkeypatch.context() as patch:
        patch.setattr(project, "FlowInsertion", _OneByOne)
        one_by_one = build()
    return bulk, one_by_one


@pytest.mark.skipif(not CORPUS_PROJECTS, reason=f"shared corpus not present at {CORPUS}")
@pytest.mark.parametrize("root", CORPUS_PROJECTS + FIXTURE_PROJECTS, ids=str)
def test_corpus_and_fixture_builds_are_the_one_by_one_builds(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk, one_by_one = both_builds(root, monkeypatch)
    assert bulk == one_by_one


def _lock_out(path: str, digest: str) -> dict[str, Any]:
    return {"path": path, "hash": "md5", "md5": digest, "size": 1}


def generated(root: Path) -> Path:
    """A pipeline of shared, duplicate, directory and annotated outputs, foreach stages,
    a sub-pipeline, a ``.dvc`` file and paths leaving the repository."""
    from dvc.repo import Repo

    Repo.init(os.fspath(root), no_scm=True).close()
    manifest = json.dumps(
        [{"md5": "11" * 16, "relpath": "f1"}, {"md5": "22" * 16, "relpath": "g/f2"}]
    )
    dir_md5 = hashlib.md5(manifest.encode()).hexdigest()
    cached = root / ".dvc" / "cache" / "files" / "md5" / dir_md5[:2] / (dir_md5[2:] + ".dir")
    cached.parent.mkdir(parents=True)
    cached.write_text(manifest)
    stages: dict[str, Any] = {
        "a": {"cmd": "x", "deps": ["raw.csv"], "outs": ["shared.bin", "o/a1", "o/a2"]},
        "b": {"cmd": "x", "deps": ["o/a1", "raw.csv"], "outs": ["shared.bin", "dir"]},
        "c": {
            "cmd": "x",
            "deps": ["dir/f1", "../outside.txt", "o/a2"],
            "outs": [{"o/c.json": {"desc": "scores"}}, "o/a2"],
            "metrics": ["o/m.json"],
        },
        "each": {"foreach": ["p", "q"], "do": {"cmd": "x ${item}", "outs": ["e/${item}.bin"]}},
    }
    lock: dict[str, Any] = {
        "a": {
            "cmd": "x",
            "deps": [_lock_out("raw.csv", "aa" * 16)],
            "outs": [_lock_out("shared.bin", "01" * 16), _lock_out("o/a1", "02" * 16)],
        },
        "b": {
            "cmd": "x",
            "outs": [
                _lock_out("shared.bin", "03" * 16),
                {"path": "dir", "hash": "md5", "md5": dir_md5 + ".dir", "size": 2, "nfiles": 2},
            ],
        },
        "each@p": {"cmd": "x p", "outs": [_lock_out("e/p.bin", "04" * 16)]},
        "gone": {"cmd": "y", "outs": [_lock_out("o/a1", "05" * 16)]},
    }
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    (root / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": lock}))
    (root / "sub").mkdir()
    sub = {"stages": {"a": {"cmd": "x", "deps": ["../o/c.json"], "outs": ["../o/a1", "s.bin"]}}}
    (root / "sub" / "dvc.yaml").write_text(yaml.safe_dump(sub))
    added = {"outs": [{"md5": "06" * 16, "size": 1, "hash": "md5", "path": "raw.csv"}]}
    (root / "raw.csv.dvc").write_text(yaml.safe_dump(added))
    return root


def test_generated_pipelines_build_the_one_by_one_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = generated(tmp_path / "repo")
    bulk, one_by_one = both_builds(root, monkeypatch)
    assert bulk == one_by_one
    (nodes, edges, *_, issues), _ = bulk
    codes = {issue.code for issue in issues}
    assert {"duplicate-output", "path-escape", "stale-lock"} <= codes  # the hard cases ran
    assert ("step:b", "artifact:dir/g/f2", "output") in [(u, v, k) for u, v, k, _ in edges]
    assert "artifact:e/q.bin" in dict(nodes)
