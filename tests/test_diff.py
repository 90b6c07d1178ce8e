"""`mlpolicy diff`: findings new, fixed and unchanged between two git revisions.

A real git repository is built from the example fixtures, with the ML repository
in a subfolder (`ml/`), across tagged commits:

- ``base``: the tampered example (five findings);
- ``fix``: the featurize link re-signed by the data team (fixes DP-01);
- ``two``: the evaluation metrics edited (two new findings: DE-02 and a digest mismatch);
- ``policy``: a new control that fails at ``two`` as well (a policy change).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from click.testing import CliRunner, Result

from policy_engine.cli import main
from policy_engine.compiler.ir import Location, Waiver
from policy_engine.evaluate import Finding, Kind
from policy_engine.premerge import classify
from policy_engine.premerge.git import Checkout, worktree
from policy_engine.results import Classification, failing

pytestmark = pytest.mark.slow  # the command end to end, over real repositories

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TAMPERED, COMPLIANT = FIXTURES / "example-ml-tampered", FIXTURES / "example-ml"
UNTRUSTED_LINK = "attestations/featurize.b65af5b1.link"
TRUSTED_LINK = "attestations/featurize.6046a4dd.link"
NEW_CONTROL = """
control DE-03 "Models are countersigned by the data team" {
  severity low
  stage model_deployment
  require every artifact matching "models/**" is signed by data_team
}
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    command = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(top: Path, tag: str) -> None:
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", tag)
    git(top, "tag", tag)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tagged history described above; tests that change it work on a copy."""
    top = tmp_path_factory.mktemp("origin") / "project"
    ml = top / "ml"
    shutil.copytree(TAMPERED, ml)
    (top / "README.md").write_text("a project with an ML pipeline in ml/\n")
    git(top, "init", "-q")
    commit(top, "base")
    (ml / UNTRUSTED_LINK).unlink()
    shutil.copyfile(COMPLIANT / TRUSTED_LINK, ml / TRUSTED_LINK)
    commit(top, "fix")
    (ml / "metrics" / "eval.json").write_text('{"accuracy": 1.0}\n')
    commit(top, "two")
    policy = ml / "policies" / "pipeline.policy"
    policy.write_text(policy.read_text() + NEW_CONTROL)
    commit(top, "policy")
    return top


@pytest.fixture
def project(origin: Path, tmp_path: Path) -> Path:
    """A private copy of the history (working tree at ``policy``), free to change."""
    return Path(shutil.copytree(origin, tmp_path / "project", symlinks=True))


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def diff_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    result = mlpolicy("diff", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def pairs(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["control"], f["subject"]) for f in findings}


DIGEST = "builtin/digest-mismatch"
BASE_FINDINGS = {
    ("DP-01", "featurize"),
    ("TR-02", "models/model.json"),
    ("DE-01", "models/model.json"),
    (DIGEST, "data/features/train.csv"),
    (DIGEST, "models/model.json"),
}
INTRODUCED = {("DE-02", "metrics/eval.json"), (DIGEST, "metrics/eval.json")}


# --- against real git history ------------------------------------------------------------


def test_a_commit_that_fixes_a_finding_passes(origin: Path) -> None:
    status, report = diff_json(origin / "ml", "--base", "base", "--head", "fix")
    assert status == 0
    assert report["new"] == []
    assert pairs(report["fixed"]) == {("DP-01", "featurize")}
    assert pairs(report["unchanged"]) == BASE_FINDINGS - {("DP-01", "featurize")}
    assert report["head"] == {
        "ref": "fix",
        "commit": git(origin, "rev-parse", "fix"),
        "dirty": False,
        "evaluated": True,
        "reason": None,
    }
    assert report["policy_changed"] is False
    assert report["policy_change"] is None


def test_a_commit_that_introduces_two_findings_fails_at_their_severity(origin: Path) -> None:
    status, report = diff_json(origin / "ml", "--base", "fix", "--head", "two")
    assert status == 1
    assert pairs(report["new"]) == INTRODUCED
    assert report["fixed"] == []
    assert report["summary"] == {"new": 2, "fixed": 0, "unchanged": 4, "failing": 2}
    severities = {f["control"]: f["severity"] for f in report["new"]}
    assert severities == {"DE-02": "medium", DIGEST: "high"}
    args = ("diff", origin / "ml", "--base", "fix", "--head", "two")
    assert mlpolicy(*args, "--fail-on", "high").exit_code == 1
    assert mlpolicy(*args, "--fail-on", "critical").exit_code == 0


def test_unchanged_findings_fail_only_when_asked(origin: Path) -> None:
    args = ("diff", origin / "ml", "--base", "base", "--head", "fix")
    assert mlpolicy(*args).exit_code == 0
    result = mlpolicy(*args, "--fail-on-unchanged", "--fail-on", "critical")
    assert result.exit_code == 1
    assert "FAIL, 1 new or unchanged at or above `critical`" in result.stdout


def test_both_revisions_are_judged_by_the_bases_policy_and_a_change_fails(origin: Path) -> None:
    status, report = diff_json(origin / "ml", "--base", "two", "--head", "policy")
    assert status == 1
    assert report["policy_from"] == report["judged_with"] == "base"
    assert report["new"] == [] and report["fixed"] == []
    assert "DE-03" not in {f["control"] for f in report["unchanged"]}
    assert report["policy_change"] == {
        "files": ["policies/pipeline.policy"],
        "keys": [],
        "controls_added": ["DE-03"],
        "controls_removed": [],
        "controls_changed": [],
        "base_has_policy": True,
        "allowed": False,
        "fails": True,
    }
    text = mlpolicy("diff", origin / "ml", "--base", "two", "--head", "policy").stdout
    assert "policy change: the policy changed (files: policies/pipeline.policy" in text
    assert "FAIL, the policy changed" in text


def test_an_allowed_policy_change_is_reported_and_judged_by_the_base(origin: Path) -> None:
    args = ("--base", "two", "--head", "policy", "--allow-policy-change")
    status, report = diff_json(origin / "ml", *args)
    assert status == 0
    assert report["policy_change"]["allowed"] is True
    assert report["policy_change"]["fails"] is False
    assert "DE-03" not in {f["control"] for f in report["unchanged"]}


def test_policy_from_head_judges_both_revisions_by_the_heads_policy(origin: Path) -> None:
    args = ("--base", "two", "--head", "policy", "--policy-from", "head")
    status, report = diff_json(origin / "ml", *args)
    assert status == 0
    assert report["judged_with"] == "head"
    assert report["policy_change"]["fails"] is False
    assert ("DE-03", "models/model.json") in pairs(report["unchanged"])
    assert report["new"] == [] and report["fixed"] == []
    text = mlpolicy("diff", origin / "ml", *args).stdout
    assert "is reported only (--policy-from head: judged with the head's policy)" in text


def test_findings_are_the_same_objects_as_checks(origin: Path) -> None:
    _, report = diff_json(origin / "ml", "--base", "base", "--head", "two")
    check = json.loads(mlpolicy("check", origin / "ml", "--format", "json").stdout)
    assert pairs(report["new"]) == INTRODUCED
    assert pairs(report["fixed"]) == {("DP-01", "featurize")}
    for finding in report["new"] + report["fixed"] + report["unchanged"]:
        assert finding.keys() == check["findings"][0].keys()
    assert {"base", "head", "policy_changed", "new", "fixed", "unchanged"} <= report.keys()


def test_json_is_byte_identical_across_runs(origin: Path) -> None:
    args = ("diff", origin / "ml", "--base", "fix", "--head", "two", "--format", "json")
    assert mlpolicy(*args).stdout == mlpolicy(*args).stdout


# --- the working tree as head --------------------------------------------------------------


def status_of(top: Path) -> str:
    return git(top, "--no-optional-locks", "status", "--porcelain")


def _snapshot(top: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file of the work tree, and of git's index."""
    files = [p for p in top.rglob("*") if p.is_file() and p.relative_to(top).parts[0] != ".git"]
    return {
        str(p.relative_to(top)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted([*files, top / ".git" / "index"])
    }


def test_a_dirty_working_tree_is_the_head_and_is_left_as_it_was(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(project, "checkout", "-q", "fix")
    (project / "ml" / "metrics" / "eval.json").write_text('{"accuracy": 0.5}\n')
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = (_snapshot(project), status_of(project))
    status, report = diff_json(project / "ml", "--base", "fix")
    assert status == 1
    assert pairs(report["new"]) == INTRODUCED
    assert report["head"]["ref"] is None and report["head"]["dirty"] is True
    assert report["head"]["commit"] == git(project, "rev-parse", "fix")
    assert any("uncommitted changes" in note for note in report["notes"])
    assert (_snapshot(project), status_of(project)) == before
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert list(scratch.iterdir()) == []


def test_a_clean_working_tree_is_not_reported_dirty(origin: Path) -> None:
    _, report = diff_json(origin / "ml", "--base", "policy")
    assert report["head"]["dirty"] is False
    assert report["new"] == report["fixed"] == []
    assert report["notes"] == []


def test_worktrees_are_removed_when_the_head_cannot_be_judged(project: Path) -> None:
    policy = project / "ml" / "policies" / "pipeline.policy"
    policy.write_text(policy.read_text().replace("severity high", "severity hihg", 1))
    commit(project, "broken")
    git(project, "checkout", "-q", "base")
    result = mlpolicy("diff", project / "ml", "--base", "base", "--head", "broken")
    assert result.exit_code == 2
    assert "the head's policy is invalid" in result.stderr
    assert "hihg" in result.stderr
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not (project / ".git" / "worktrees").exists() or not any(
        (project / ".git" / "worktrees").iterdir()
    )


def test_a_folder_new_since_the_base_makes_every_finding_new(tmp_path: Path) -> None:
    top = tmp_path / "project"
    top.mkdir()
    (top / "README.md").write_text("nothing yet\n")
    git(top, "init", "-q")
    commit(top, "empty")
    shutil.copytree(TAMPERED, top / "ml")
    status, report = diff_json(top / "ml", "--base", "empty")
    assert status == 1
    assert pairs(report["new"]) == BASE_FINDINGS
    assert report["base"]["evaluated"] is False
    assert report["policy_changed"] is True


# --- what cannot be compared ---------------------------------------------------------------


def test_a_base_that_does_not_exist_exits_2_with_a_clear_message(origin: Path) -> None:
    result = mlpolicy("diff", origin / "ml", "--base", "no-such-branch")
    assert result.exit_code == 2
    assert "error: `no-such-branch` is not a commit of this repository" in result.stderr
    assert "Traceback" not in result.output


def test_a_folder_outside_git_exits_2(tmp_path: Path) -> None:
    repo = Path(shutil.copytree(TAMPERED, tmp_path / "plain"))
    result = mlpolicy("diff", repo, "--base", "main")
    assert result.exit_code == 2
    assert "not inside a git repository" in result.stderr


def test_base_is_required() -> None:
    result = mlpolicy("diff", ".")
    assert result.exit_code == 2
    assert "--base" in result.output


# --- classification, pure ------------------------------------------------------------------


def finding(control: str, subject: str, kind: Kind = Kind.INTEGRITY, **kw: Any) -> Finding:
    fields: dict[str, Any] = {
        "title": "t",
        "severity": "high",
        "stage": "secure_pipelines",
        "message": "m",
        "evidence": (),
        "location": Location("p.policy", 1, 1),
    }
    return Finding(control=control, subject=subject, kind=kind, **(fields | kw))


def test_findings_match_by_control_and_subject_never_by_message() -> None:
    old = finding("C", "a", message="digest 1234")
    new = finding("C", "a", message="digest 5678")
    split = classify([old, finding("C", "gone")], [new, finding("D", "a")])
    assert split.unchanged == (new,)
    assert [f.subject for f in split.fixed] == ["gone"]
    assert [f.control for f in split.new] == ["D"]


def test_another_rule_or_kind_of_one_control_is_another_finding() -> None:
    first = finding("C", "a", Kind.UNSIGNED_ARTIFACT, location=Location("p.policy", 2, 1))
    second = finding("C", "a", Kind.UNSIGNED_ARTIFACT, location=Location("p.policy", 3, 1))
    lineage = finding("C", "a", Kind.MISSING_LINEAGE, location=Location("p.policy", 2, 1))
    assert classify([first], [second]) == Classification((second,), (first,), ())
    assert classify([first], [lineage]) == Classification((lineage,), (first,), ())


def test_base_findings_about_artifacts_the_base_did_not_have_are_set_aside() -> None:
    absent = finding("C", "models/m", message="`models/m` is not in the workspace")
    changed = finding("C", "models/m", message="its bytes changed after they were signed")
    split = classify([absent, finding("D", "x")], [changed], unseen={"models/m"})
    assert split == Classification((changed,), (finding("D", "x"),), (), (absent,))


def test_the_kind_separates_several_findings_of_one_control_and_subject() -> None:
    lineage = finding("C", "m", Kind.MISSING_LINEAGE, location=Location("p.policy", 2, 1))
    unsigned = finding("C", "m", Kind.UNSIGNED_ARTIFACT, location=Location("p.policy", 3, 1))
    split = classify([lineage], [lineage, unsigned])
    assert split.unchanged == (lineage,) and split.new == (unsigned,)
    assert classify([lineage, unsigned], [unsigned]).fixed == (lineage,)
    twice = [lineage, finding("C", "m", Kind.MISSING_LINEAGE, location=Location("p", 4, 1))]
    assert len(classify(twice, twice[:1]).fixed) == 1


def test_the_gate_counts_new_findings_at_or_above_the_threshold() -> None:
    low, high = finding("L", "x", severity="low"), finding("H", "x", severity="high")
    split = classify([high], [low, high])
    assert failing(split, "low") == (low,)
    assert failing(split, "medium") == ()
    assert failing(split, "medium", fail_on_unchanged=True) == (high,)


def test_a_folder_at_the_top_is_itself_in_every_worktree(tmp_path: Path) -> None:
    assert Checkout(tmp_path, PurePosixPath(".")).locate(tmp_path / "w") == tmp_path / "w"
    assert Checkout(tmp_path, PurePosixPath("a/b")).locate(tmp_path / "w") == tmp_path / "w/a/b"


def test_a_waived_new_finding_does_not_fail_the_gate() -> None:
    waiver = Waiver("W", ("x",), "alice", "accepted risk", date(2099, 1, 1), Location("p", 1, 1))
    waived = finding("W", "x", waiver=waiver)
    split = classify([], [waived])
    assert split.new == (waived,)
    assert failing(split, "info") == ()


def test_a_terminated_run_still_removes_its_worktree(origin: Path) -> None:
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("SIGTERM is handled by the test runner")
    with pytest.raises(SystemExit), worktree(origin, git(origin, "rev-parse", "base")) as tree:
        assert (tree / "ml" / "dvc.yaml").is_file()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted by the signal
    assert not tree.exists()
    assert git(origin, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
