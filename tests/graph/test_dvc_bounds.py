"""Hostile pipelines end in a located error naming the bound, before DVC expands anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import bounds, build_dvc
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from dvc.repo import Repo

    Repo.init(os.fspath(tmp_path), no_scm=True).close()
    return tmp_path


def refused(root: Path) -> InputError:
    with pytest.raises(InputError) as info:
        build_dvc(ProvenanceGraph(str(root)), BuildContext(root, Keyring({})))
    return info.value


def test_a_matrix_of_a_million_stages_is_refused(project: Path) -> None:
    values = ", ".join(str(i) for i in range(100))
    (project / "dvc.yaml").write_text(
        "stages:\n  ok:\n    cmd: echo\n  grid:\n    matrix:\n"
        f"      a: [{values}]\n      b: [{values}]\n      c: [{values}]\n"
        "    cmd: echo ${item.a}\n"
    )
    error = refused(project)
    assert error.location == "dvc.yaml:4"
    assert error.message == (
        "stage `grid` would generate 1000000 stages, more than MAX_EXPANDED_STAGES "
        "(10000): the pipeline was not loaded"
    )


def test_a_foreach_over_200000_items_is_refused(project: Path) -> None:
    items = "".join(f"      - i{i}\n" for i in range(200_000))
    (project / "dvc.yaml").write_text(
        f"stages:\n  ok:\n    cmd: echo\n  each:\n    foreach:\n{items}    do:\n      cmd: echo\n"
    )
    error = refused(project)
    assert error.location == "dvc.yaml:4"
    assert "200000 stages, more than MAX_EXPANDED_STAGES (10000)" in error.message


def test_a_pipeline_over_its_stage_bound_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bounds, "MAX_PIPELINE_STAGES", 5)
    (project / "dvc.yaml").write_text(
        "stages:\n  a:\n    cmd: echo\n  b:\n    foreach: [1, 2, 3, 4, 5]\n"
        "    do:\n      cmd: echo\n"
    )
    error = refused(project)
    assert error.location == "dvc.yaml:4"
    assert error.message == (
        "the pipeline would have more than MAX_PIPELINE_STAGES (5) stages: it was not loaded"
    )


def test_a_lock_of_50000_stale_entries_is_refused(project: Path) -> None:
    (project / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo\n")
    entries = "".join(f"  s{i}:\n    cmd: echo\n" for i in range(50_000))
    (project / "dvc.lock").write_text(f"schema: '2.0'\nstages:\n{entries}")
    error = refused(project)
    assert error.location == "dvc.lock"
    assert error.message == (
        "the lock has 50000 entries, more than MAX_LOCK_ENTRIES (25000): it was not read"
    )


def test_a_dvc_1_lock_is_bounded_too(project: Path) -> None:
    (project / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo\n")
    entries = "".join(f"s{i}:\n  cmd: echo\n" for i in range(bounds.MAX_LOCK_ENTRIES + 1))
    (project / "dvc.lock").write_text(entries)
    assert "MAX_LOCK_ENTRIES" in refused(project).message


def test_a_project_over_its_stage_bound_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bounds, "MAX_PROJECT_STAGES", 2)
    for name in ("a", "b", "c"):
        (project / f"{name}.dvc").write_text(f"outs:\n- path: {name}\n")
    error = refused(project)
    assert error.location == "c.dvc"
    assert error.message == (
        "the DVC project has more than MAX_PROJECT_STAGES (2) stages: it was not loaded"
    )


def test_within_the_bounds_nothing_is_refused(project: Path) -> None:
    (project / "dvc.yaml").write_text(
        "stages:\n  grid:\n    matrix:\n      a: [1, 2]\n      b: [x, y]\n    cmd: echo\n"
    )
    graph = ProvenanceGraph(str(project))
    build_dvc(graph, BuildContext(project, Keyring({})))
    assert sum(1 for _ in graph.steps()) == 4
