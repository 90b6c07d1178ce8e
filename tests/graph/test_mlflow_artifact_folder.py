"""Where a run's artifacts are: only folders in the repository, and never an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_engine.graph.builders.mlflow.artifacts import artifact_folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "mlruns" / "1" / "abc" / "artifacts").mkdir(parents=True)
    return tmp_path


def test_a_folder_in_the_repository_is_found(repo: Path) -> None:
    uri = (repo / "mlruns" / "1" / "abc" / "artifacts").as_uri()
    assert artifact_folder(repo, repo / "mlruns", uri) == "mlruns/1/abc/artifacts"


def test_a_moved_repository_is_found_from_the_store(repo: Path) -> None:
    uri = "file:///elsewhere/mlruns/1/abc/artifacts"
    assert artifact_folder(repo, repo / "mlruns", uri) == "mlruns/1/abc/artifacts"


@pytest.mark.parametrize(
    "uri",
    [
        "file:///elsewhere/mlruns/1/" + "a" * 300 + "/artifacts",  # a name longer than NAME_MAX
        "mlruns/1/" + "b/" * 3000 + "artifacts",  # a path longer than PATH_MAX
        "s3://bucket/mlruns/1/abc/artifacts",
        "file:///etc",
        "../outside/runs/1",
    ],
)
def test_other_locations_are_none(repo: Path, uri: str) -> None:
    assert artifact_folder(repo, repo / "mlruns", uri) is None
