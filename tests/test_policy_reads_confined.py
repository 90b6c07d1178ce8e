"""A policy in a pull request cannot make the engine read, or echo, files outside the
repository: imports and attestation paths stay inside it (or the bundled packs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy_engine.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "example-ml"
SECRET = "SECRET-CONTENT-OUTSIDE"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "outside.policy").write_text(f"{SECRET}\n")
    (tmp_path / "outside").mkdir()
    return Path(shutil.copytree(EXAMPLE, tmp_path / "repo"))


def check_with(repo: Path, text: str) -> tuple[int, str]:
    (repo / "policies" / "evil.policy").write_text(text)
    result = CliRunner().invoke(main, ["check", str(repo)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "written", ["../../outside.policy", "{abs}", "@mlpolicy/../../outside.policy"]
)
def test_an_import_leaving_the_repository_is_refused_unread(repo: Path, written: str) -> None:
    written = written.replace("{abs}", str(repo.parent / "outside.policy"))
    code, output = check_with(repo, f'import "{written}"\n')
    assert code == 2
    assert "is outside the repository" in output
    assert SECRET not in output


@pytest.mark.parametrize("written", ["../outside", "{abs}", "escape"])
def test_attestations_in_a_folder_leaving_the_repository_is_refused(
    repo: Path, written: str
) -> None:
    (repo / "escape").symlink_to(repo.parent / "outside")
    written = written.replace("{abs}", str(repo.parent / "outside"))
    code, output = check_with(repo, f'attestations in "{written}"\n')
    assert code == 2
    assert "error[E120]" in output
    assert "leaves the repository" in output or "must be relative" in output


def test_a_bundled_pack_is_still_imported(repo: Path) -> None:
    _, output = check_with(repo, 'import "@mlpolicy/mlsecops.policy"\n')
    assert "is outside the repository" not in output
    assert "unknown role `security_team`" in output  # the pack was read: it names its roles
