"""`mlpolicy diff` on repositories in the real layout, made by real `git` and `dvc`.

The base repository (built once per module, copied per test) has a DVC pipeline
`prepare -> label -> train` run by `dvc repro`, its source added by `dvc add`,
every output git-ignored (bytes in `.dvc/cache` and the working tree only), links
signed by `mlpolicy attest link` (label by two labelers), a PII-scan statement
about `data/clean.csv`, and a policy requiring all of it. Each test makes a
branch with one kind of change and runs `diff --base main` with the working tree
(outputs materialised) as head.

The base worktree has no outputs until artifacts are resolved through the DVC
cache: the base's findings about them are set aside, never counted as fixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from policy_engine.cli import main

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}
PII = "https://example.org/pii-scan/v1"
DVC_YAML = """\
stages:
  prepare:
    cmd: cp data/source.csv data/clean.csv
    deps: [data/source.csv]
    outs: [data/clean.csv]
  label:
    cmd: cp data/clean.csv data/labels.csv
    deps: [data/clean.csv]
    outs: [data/labels.csv]
  train:
    cmd: mkdir -p models && cat data/labels.csv params.yaml > models/model.bin
    deps: [data/labels.csv]
    params: [train.lr]
    outs: [models/model.bin]
"""
POLICY = f"""\
policy "real-layout"
attestations in "attestations"

key data_engineer from "keys/data.pub"
key labeler_a from "keys/labeler-a.pub"
key labeler_b from "keys/labeler-b.pub"
key ml_engineer from "keys/ml.pub"
role data_team = data_engineer
role labelers = labeler_a, labeler_b
role ml_team = ml_engineer

control DP-01 "Data preparation is performed by the data team" {{
  severity high
  stage data_preparation
  require every step matching "prepare" is performed by data_team
}}

control LB-01 "Labels are produced by two labelers" {{
  severity high
  stage data_preparation
  require every step matching "label" is performed by at least 2 of labelers
}}

control DP-02 "Prepared data is scanned for PII" {{
  severity high
  stage data_preparation
  require every artifact matching "data/clean.csv" is attested with "{PII}" by data_team
}}

control TR-01 "Training is performed by the ML team" {{
  severity high
  stage model_training
  require every step matching "train" is performed by ml_team
}}

control DE-01 "Models are signed by the ML team at their current digest" {{
  severity critical
  stage model_deployment
  require every artifact matching "models/**" is signed by ml_team
}}
"""
SIGNERS = (("prepare", "data"), ("label", "labeler-a"), ("label", "labeler-b"), ("train", "ml"))
POLICY_FILE = "policies/pipeline.policy"


def run(cwd: Path, *args: str) -> str:
    """``git ARGS`` or ``dvc ARGS`` in ``cwd``; its standard output."""
    if args[0] == "git":
        command = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
        command += args[1:]
    else:
        command = [str(BIN / "dvc"), *args]
    done = subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True, text=True)
    return done.stdout


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def produce(*args: str | Path) -> None:
    result = mlpolicy(*args)
    assert result.exit_code == 0, result.output


def build(top: Path, keys: Path) -> None:
    """The base commit `main`: pipeline run, outputs git-ignored, every step signed."""
    top.mkdir(parents=True)
    run(top, "git", "init", "-q")
    run(top, "init", "-q")
    (top / "data").mkdir()
    (top / "data" / "source.csv").write_text("id,amount\n1,10\n2,20\n")
    run(top, "add", "-q", "data/source.csv")
    (top / "dvc.yaml").write_text(DVC_YAML)
    (top / "params.yaml").write_text("train:\n  lr: 0.1\n")
    run(top, "repro", "-q")
    (top / "keys").mkdir()
    for name in ("data", "labeler-a", "labeler-b", "ml", "intruder"):
        produce("keygen", name, "--dir", keys)
        if name != "intruder":
            shutil.copyfile(keys / f"{name}.pub", top / "keys" / f"{name}.pub")
    for stage, signer in SIGNERS:
        produce("attest", "link", "--stage", stage, "--key", keys / signer, "--repo", top)
    (keys / "pii.json").write_text('{"scanner": "test", "findings": 0}')
    produce(
        *("attest", "statement", "--type", PII, "--predicate", keys / "pii.json"),
        *("--subject", "data/clean.csv", "--repo", top, "--key", keys / "data"),
        *("--out", top / "attestations" / "pii.intoto.json"),
    )
    (top / "policies").mkdir()
    (top / POLICY_FILE).write_text(POLICY)
    (top / "README.md").write_text("an ML pipeline in the real layout\n")
    commit(top, "base")


def commit(top: Path, message: str) -> None:
    run(top, "git", "add", "-A")
    run(top, "git", "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The base repository and the folder of private keys (outside it)."""
    folder = tmp_path_factory.mktemp("real-layout")
    build(folder / "project", folder / "keys")
    return folder / "project", folder / "keys"


@pytest.fixture
def keys(origin: tuple[Path, Path]) -> Path:
    return origin[1]


@pytest.fixture
def project(origin: tuple[Path, Path], tmp_path: Path) -> Path:
    """A private copy of the base repository (outputs, DVC cache and all), on a new branch."""
    top = Path(shutil.copytree(origin[0], tmp_path / "project", symlinks=True))
    run(top, "git", "checkout", "-q", "-b", "change")
    return top


def diff(top: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = mlpolicy("diff", top, "--base", "main", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def pairs(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["control"], f["subject"]) for f in findings}


def only_new(report: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert pairs(report["new"]) == expected
    assert report["fixed"] == []
    assert report["unchanged"] == []


def unlink_one(top: Path, pattern: str) -> None:
    sorted((top / "attestations").glob(pattern))[0].unlink()


# --- one branch per kind of regression ---------------------------------------------------


def test_a_model_edited_in_the_working_tree_is_new_and_makes_the_head_dirty(
    project: Path,
) -> None:
    (project / "models" / "model.bin").write_text("tampered\n")
    status, report = diff(project)
    assert status == 1
    only_new(
        report, {("DE-01", "models/model.bin"), ("builtin/digest-mismatch", "models/model.bin")}
    )
    assert report["head"]["dirty"] is True
    assert any("`models/model.bin`" in note and "DVC outputs" in note for note in report["notes"])
    assert mlpolicy("diff", project, "--base", "main", "--fail-on", "critical").exit_code == 1


def test_a_retrain_without_re_signing_is_new(project: Path) -> None:
    (project / "params.yaml").write_text("train:\n  lr: 0.2\n")
    run(project, "repro", "-q")
    commit(project, "retrain")
    status, report = diff(project)
    assert status == 1
    only_new(
        report, {("DE-01", "models/model.bin"), ("builtin/digest-mismatch", "models/model.bin")}
    )
    assert report["head"]["dirty"] is False


def test_a_deleted_required_attestation_is_new(project: Path) -> None:
    (project / "attestations" / "pii.intoto.json").unlink()
    commit(project, "drop the PII scan")
    status, report = diff(project)
    assert status == 1
    only_new(report, {("DP-02", "data/clean.csv")})


def test_a_step_signed_by_an_untrusted_key_is_new(project: Path, keys: Path) -> None:
    unlink_one(project, "train.*.link")
    produce("attest", "link", "--stage", "train", "--key", keys / "intruder", "--repo", project)
    commit(project, "train signed by someone else")
    status, report = diff(project)
    assert status == 1
    only_new(report, {("TR-01", "train"), ("DE-01", "models/model.bin")})


def test_a_signer_below_the_threshold_is_new(project: Path) -> None:
    unlink_one(project, "label.*.link")
    commit(project, "one labeler")
    status, report = diff(project)
    assert status == 1
    only_new(report, {("LB-01", "label")})


def test_a_readme_change_passes_with_nothing_new_or_fixed(project: Path) -> None:
    (project / "README.md").write_text("reworded\n")
    commit(project, "readme")
    status, report = diff(project)
    assert status == 0
    assert report["new"] == report["fixed"] == report["unchanged"] == []
    assert report["head"]["dirty"] is False
    assert report["policy_change"] is None
    assert report["base"]["evaluated"] is True


# --- a change that weakens the policy ------------------------------------------------------


@pytest.fixture
def weakened(project: Path) -> Path:
    """One labeler, and the threshold loosened so that the head's policy lets it pass."""
    unlink_one(project, "label.*.link")
    policy = project / POLICY_FILE
    policy.write_text(policy.read_text().replace("at least 2 of labelers", "labelers"))
    commit(project, "one labeler is enough")
    return project


def test_a_weakened_policy_is_a_policy_change_and_the_bases_policy_judges(
    weakened: Path,
) -> None:
    status, report = diff(weakened)
    assert status == 1
    only_new(report, {("LB-01", "label")})
    change = report["policy_change"]
    assert change["files"] == [POLICY_FILE] and change["controls_changed"] == ["LB-01"]
    assert change["fails"] is True and report["judged_with"] == "base"


def test_a_deleted_control_is_a_policy_change_that_fails(project: Path) -> None:
    policy = project / POLICY_FILE
    text = policy.read_text()
    policy.write_text(text[: text.index("control LB-01")] + text[text.index("control DP-02") :])
    unlink_one(project, "label.*.link")
    commit(project, "no labeling control")
    status, report = diff(project)
    assert status == 1
    assert report["policy_change"]["controls_removed"] == ["LB-01"]
    only_new(report, {("LB-01", "label")})


def test_policy_from_head_passes_a_weakened_policy_as_before(weakened: Path) -> None:
    status, report = diff(weakened, "--policy-from", "head")
    assert status == 0
    assert report["new"] == report["fixed"] == []
    assert report["judged_with"] == "head"
    assert report["policy_change"]["fails"] is False


def test_an_allowed_policy_change_is_reported_and_judged_by_the_base(weakened: Path) -> None:
    status, report = diff(weakened, "--allow-policy-change")
    assert status == 1  # the base's policy still finds the missing labeler
    only_new(report, {("LB-01", "label")})
    assert report["policy_change"]["allowed"] is True
    assert report["policy_change"]["fails"] is False


def test_a_replaced_trusted_key_is_a_policy_change_judged_with_the_bases_keys(
    project: Path, keys: Path
) -> None:
    shutil.copyfile(keys / "intruder.pub", project / "keys" / "ml.pub")
    unlink_one(project, "train.*.link")
    produce("attest", "link", "--stage", "train", "--key", keys / "intruder", "--repo", project)
    commit(project, "a new ML key")
    status, report = diff(project)
    assert status == 1
    assert report["policy_change"]["keys"] == ["ml_engineer"]
    assert report["policy_change"]["files"] == []
    only_new(report, {("TR-01", "train"), ("DE-01", "models/model.bin")})
    status, report = diff(project, "--policy-from", "head")
    assert status == 0 and report["new"] == []


def test_every_format_shows_the_policy_change(weakened: Path) -> None:
    for fmt in ("text", "json", "sarif", "junit", "markdown"):
        result = mlpolicy("diff", weakened, "--base", "main", "--format", fmt)
        assert result.exit_code == 1, fmt
        assert any(w in result.stdout for w in ("policy-change", "policy change", "policy_change"))
        assert POLICY_FILE in result.stdout, fmt


# --- bases that cannot judge ---------------------------------------------------------------


def test_a_base_without_a_policy_is_judged_with_the_heads_and_is_a_policy_change(
    project: Path,
) -> None:
    run(project, "git", "rm", "-q", "-r", "policies")
    commit(project, "before mlpolicy")
    run(project, "git", "branch", "-q", "-f", "adopt-base")
    run(project, "git", "checkout", "-q", "-b", "adopt")
    run(project, "git", "checkout", "-q", "main", "--", "policies")
    commit(project, "adopt mlpolicy")
    args = ("diff", project, "--base", "adopt-base", "--format", "json")
    report = json.loads(mlpolicy(*args).stdout)
    assert report["judged_with"] == "head" and report["policy_change"]["base_has_policy"] is False
    assert report["new"] == report["fixed"] == []
    assert mlpolicy(*args).exit_code == 1
    assert mlpolicy(*args, "--allow-policy-change").exit_code == 0


def test_a_base_with_an_invalid_policy_is_not_evaluated_and_every_finding_is_new(
    project: Path,
) -> None:
    policy = project / POLICY_FILE
    good = policy.read_text()
    policy.write_text(good.replace("severity critical", "severity crtical"))
    commit(project, "a typo")
    run(project, "git", "branch", "-q", "-f", "broken")
    policy.write_text(good)
    unlink_one(project, "label.*.link")
    commit(project, "fixed, and one labeler")
    args = ("diff", project, "--base", "broken", "--format", "json", "--allow-policy-change")
    result = mlpolicy(*args)
    report = json.loads(result.stdout)
    assert report["base"]["evaluated"] is False
    assert "the base's policy is invalid" in report["base"]["reason"]
    assert pairs(report["new"]) == {("LB-01", "label")} and report["fixed"] == []
    assert result.exit_code == 1


# --- nothing is written --------------------------------------------------------------------


def listing(top: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry of the repository, `.git` and `.dvc/cache` included: files with size,
    mtime and sha256, folders and symlinks by name. Git's own bookkeeping of the temporary
    worktrees (`.git/worktrees`, created and removed by `git worktree`) is left out: it is
    unavoidable with a worktree, and `diff` removes it again."""
    entries: dict[str, tuple[Any, ...]] = {}
    for path in sorted(top.rglob("*")):
        name = path.relative_to(top).as_posix()
        if name == ".git/worktrees" or name.startswith(".git/worktrees/"):
            continue
        if path.is_symlink():
            entries[name] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[name] = ("dir",)
        else:
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[name] = ("file", stat.st_size, stat.st_mtime_ns, digest)
    return entries


def test_diff_writes_nothing_in_the_repository_or_its_dvc_cache(project: Path) -> None:
    (project / "models" / "model.bin").write_text("tampered\n")
    unlink_one(project, "label.*.link")
    before = listing(project)
    assert any(name.startswith(".dvc/cache/") for name in before)
    for args in ((), ("--head", "main"), ("--policy-from", "head")):
        assert mlpolicy("diff", project, "--base", "main", *args).exit_code in (0, 1)
    assert listing(project) == before
    assert run(project, "git", "worktree", "list", "--porcelain").count("worktree ") == 1


# --- waits on artifact resolution through the DVC cache -----------------------------------


def test_a_head_ref_sees_outputs_through_the_dvc_cache(project: Path) -> None:
    (project / "attestations" / "pii.intoto.json").unlink()
    commit(project, "drop the PII scan")
    run(project, "git", "checkout", "-q", "main")
    status, report = diff(project, "--head", "change")
    assert status == 1
    only_new(report, {("DP-02", "data/clean.csv")})
