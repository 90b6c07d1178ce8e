"""The collector around a build: paused and frozen inside, as it was after (errors included)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from policy_engine.graph import build
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.collector import paused_gc
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring


def test_paused_inside_and_restored_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_what_each_builder_made_is_frozen_then_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def builder(graph: ProvenanceGraph, context: BuildContext) -> None:
        assert not gc.isenabled()  # paused throughout the build
        seen.append(gc.get_freeze_count())
        graph.add_artifact(f"a{len(seen)}")

    monkeypatch.setattr(build, "BUILDERS", (("one", builder), ("two", builder)))
    graph = build.build_graph(BuildContext(tmp_path, Keyring({})))
    assert seen[0] == 0 and seen[1] > 0  # the second builder runs with the first's frozen
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    assert sorted(a.path for a in graph.artifacts()) == ["a1", "a2"]


def test_a_failing_builder_leaves_nothing_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fine(graph: ProvenanceGraph, context: BuildContext) -> None:
        pass

    def failing(graph: ProvenanceGraph, context: BuildContext) -> None:
        raise ValueError("unreadable")

    monkeypatch.setattr(build, "BUILDERS", (("fine", fine), ("failing", failing)))
    with pytest.raises(ValueError, match="unreadable"):
        build.build_graph(BuildContext(tmp_path, Keyring({})))
    assert gc.get_freeze_count() == 0 and gc.isenabled()
