"""MLflow tracking stores made by the real MLflow client, both backends, read offline.

One git repository with DVC-tracked data is made per module, with a SQLite store and
an ``mlruns/`` file store in it. Each registered model is one link of the chain to
check: the champion's run at this commit (or an ancestor), trained on DVC-tracked
data at its locked digest, with a metric over a threshold.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from policy_engine.api import check, load_policy
from policy_engine.cli import main
from policy_engine.graph.tracking import CommitStatus, model_versions, runs
from policy_engine.results import CheckResult

pytestmark = pytest.mark.slow
os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
mlflow = pytest.importorskip("mlflow")

BIN = Path(sys.executable).parent
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_COMMITTER_NAME": "t"}
ENV |= {"GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_EMAIL": "t@example.com"}
STORES = {"sqlite": "mlflow.db", "file": "mlruns"}
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
MODEL_BYTES = b"trained weights\n"
CHAIN = 'was trained at this commit and was trained on tracked data and metric "auc" >= 0.9'


def run(root: Path, *args: str) -> str:
    command = [str(BIN / "dvc"), *args] if args[0] != "git" else list(args)
    done = subprocess.run(command, cwd=root, env=ENV, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _repo(root: Path) -> tuple[str, str]:
    """git init; a first commit; then data and a model added with DVC: (first, HEAD)."""
    run(root, "git", "init", "-q")
    (root / "README").write_text("first\n")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "first")
    first = run(root, "git", "rev-parse", "HEAD")
    run(root, "init", "-q")
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("a,b\n1,2\n")
    (root / "data" / "untracked.csv").write_text("x\n")
    (root / "models").mkdir()
    (root / "models" / "model.pkl").write_bytes(MODEL_BYTES)
    run(root, "add", "-q", "data/train.csv", "models/model.pkl")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "data")
    return first, run(root, "git", "rev-parse", "HEAD")


class StoreWriter:
    """Writes runs and registered models with MLflow's own client."""

    def __init__(self, root: Path, backend: str) -> None:
        from mlflow.tracking import MlflowClient

        path = root / STORES[backend]
        uri = f"sqlite:///{path}" if backend == "sqlite" else path.as_uri()
        mlflow.set_tracking_uri(uri)  # MLflow's registry resolves `models:/` through it
        self.client, self.root = MlflowClient(uri, uri), root
        location = (root / "mlartifacts").as_uri() if backend == "sqlite" else None
        self.experiment = self.client.create_experiment("fraud", artifact_location=location)

    def run(self, commit: str, datasets: tuple[str, ...], auc: float) -> str:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        tags = {"mlflow.source.git.commit": commit} if commit else {}
        found = self.client.create_run(self.experiment, tags=tags, run_name="train")
        run_id: str = found.info.run_id
        self.client.log_metric(run_id, "auc", auc)
        self.client.log_param(run_id, "lr", "0.1")
        inputs = [
            DatasetInput(
                Dataset(Path(d).stem, "fingerprint", "local", f'{{"uri": "{d}"}}'),
                [InputTag("mlflow.data.context", "training")],
            )
            for d in datasets
        ]
        if inputs:
            self.client.log_inputs(run_id, datasets=inputs)
        local = self.root.parent / f"model-{run_id}.pkl"
        local.write_bytes(MODEL_BYTES)
        self.client.log_artifact(run_id, str(local), "model")
        self.client.set_terminated(run_id)
        return run_id

    def register(self, name: str, run_id: str, alias: str = "") -> str:
        """A logged model of the run, registered as a new version of ``name``."""
        model = self.client.create_logged_model(self.experiment, name=name, source_run_id=run_id)
        if not self.client.search_registered_models(f"name = '{name}'"):
            self.client.create_registered_model(name)
        version = self.client.create_model_version(
            name, f"models:/{model.model_id}", run_id=run_id, model_id=model.model_id
        )
        if alias:
            self.client.set_registered_model_alias(name, alias, version.version)
        return str(version.version)


def _stores(root: Path, first: str, head: str) -> None:
    tracked = ("data/train.csv",)
    for backend in STORES:
        writer = StoreWriter(root, backend)
        writer.register("good", writer.run(head, tracked, 0.95), "champion")
        writer.register("ancestor", writer.run(first, tracked, 0.95), "champion")
        writer.register("stranger", writer.run("0123456789abcdef" * 2 + "01234567", tracked, 0.95))
        writer.client.set_registered_model_alias("stranger", "champion", "1")
        writer.register("nocommit", writer.run("", tracked, 0.95), "champion")
        writer.register("nodata", writer.run(head, (), 0.95), "champion")
        writer.register("lowauc", writer.run(head, tracked, 0.5), "champion")
        writer.register("moved", writer.run(head, tracked, 0.95), "champion")
        untracked = writer.run(head, ("data/untracked.csv",), 0.95)
        writer.register("moved", untracked, "champion")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("mlflow") / "repo"
    root.mkdir()
    _stores(root, *_repo(root))
    yield root
    mlflow.set_tracking_uri(None)


def _policy(folder: Path, store: str, rule: str) -> Path:
    path = folder / "p.policy"
    path.write_text(
        f'policy "p"\nmlflow in "{store}"\n'
        'control TR-02 "The champion is reproducible" {\n'
        "  severity high\n  stage model_training\n"
        f"  require {rule}\n}}\n"
    )
    return path


def checked(root: Path, folder: Path, store: str, rule: str) -> CheckResult:
    loaded = load_policy([_policy(folder, store, rule)], root)
    assert loaded.policy is not None, loaded.diagnostics
    return check(loaded.policy, root, now=NOW, hash_cache=False)


def champion(name: str) -> str:
    return f'every model registered as "{name}" with alias "champion" {CHAIN}'


def messages(result: CheckResult) -> list[str]:
    return [f"{f.subject}: {f.message}" for f in result.evaluation.active]


@pytest.mark.parametrize("backend", sorted(STORES))
@pytest.mark.parametrize("model", ["good", "ancestor"])
def test_the_champion_passes_on_every_link(
    repo: Path, tmp_path: Path, backend: str, model: str
) -> None:
    result = checked(repo, tmp_path, STORES[backend], champion(model))
    assert messages(result) == []


BROKEN = {
    "stranger": "a commit this revision's history does not contain",
    "nocommit": "recorded no git commit",
    "nodata": "logged no dataset input",
    "lowauc": "metric `auc` >= 0.9 does not hold: it is 0.5",
    "moved": "`data/untracked.csv` is not tracked by DVC",
}


@pytest.mark.parametrize("backend", sorted(STORES))
@pytest.mark.parametrize(("model", "reason"), sorted(BROKEN.items()))
def test_each_broken_link_fails(
    repo: Path, tmp_path: Path, backend: str, model: str, reason: str
) -> None:
    result = checked(repo, tmp_path, STORES[backend], champion(model))
    [finding] = result.evaluation.active
    assert finding.subject.startswith(f"models:/{model}/")
    assert reason in finding.message
    assert finding.subject_source is not None and finding.subject_source.file == STORES[backend]


@pytest.mark.parametrize("backend", sorted(STORES))
def test_a_dataset_edited_after_locking_fails(repo: Path, tmp_path: Path, backend: str) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy, symlinks=True)
    (copy / "data" / "train.csv").write_text("a,b\n1,3\n")
    result = checked(copy, tmp_path, STORES[backend], champion("good"))
    [finding] = [f for f in result.evaluation.active if f.control == "TR-02"]
    assert "`data/train.csv` is not at the digest DVC locked" in finding.message


@pytest.mark.parametrize("backend", sorted(STORES))
def test_the_graph_holds_runs_versions_and_their_links(
    repo: Path, tmp_path: Path, backend: str
) -> None:
    graph = checked(repo, tmp_path, STORES[backend], champion("good")).graph
    versions = {(v.name, v.version): v for v in model_versions(graph)}
    assert versions[("moved", "2")].aliases == ("champion",)
    assert versions[("moved", "1")].aliases == ()
    assert all(v.model_id.startswith("m-") for v in versions.values())
    statuses = Counter(r.commit_status for r in runs(graph))
    assert statuses == {
        CommitStatus.HEAD: 5,  # good, nodata, lowauc and both runs of moved
        CommitStatus.ANCESTOR: 1,
        CommitStatus.OTHER: 1,
        CommitStatus.MISSING: 1,
    }
    good = [r for r in runs(graph) if r.datasets and r.datasets[0].path == "data/train.csv"]
    assert good and good[0].datasets[0].digest == "fingerprint"  # MLflow's, kept apart
    assert graph.claims("data/train.csv")  # DVC's digests, not MLflow's fingerprint
    assert not [c for c in graph.claims("data/train.csv") if c.value == "fingerprint"]


@pytest.mark.parametrize("backend", sorted(STORES))
def test_a_logged_artifact_matches_the_workspace_file_by_digest(
    repo: Path, tmp_path: Path, backend: str
) -> None:
    rule = 'every artifact matching "models/model.pkl" was trained at this commit'
    assert messages(checked(repo, tmp_path, STORES[backend], rule)) == []
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy, symlinks=True)
    (copy / "models" / "model.pkl").write_bytes(b"other weights\n")
    result = checked(copy, tmp_path, STORES[backend], rule)
    [finding] = [f for f in result.evaluation.active if f.control == "TR-02"]
    assert "no MLflow run logged these bytes" in finding.message


def test_runs_are_selected_by_experiment(repo: Path, tmp_path: Path) -> None:
    rule = 'every run of experiment "fraud" metric "auc" >= 0.9'
    result = checked(repo, tmp_path, "mlflow.db", rule)
    assert len(result.evaluation.active) == 1
    assert result.evaluation.active[0].subject.startswith("runs:/")


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder: mtime and sha256 of files, mtime of folders."""
    found: dict[str, tuple[int, str]] = {}
    for path in sorted(root.rglob("*")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(root))] = (path.stat().st_mtime_ns, digest)
    return found


@pytest.mark.parametrize("backend", sorted(STORES))
def test_reading_a_store_writes_nothing(
    repo: Path, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy, symlinks=True)
    shutil.rmtree(copy / "mlruns" / ".trash", ignore_errors=True)  # git keeps no empty folder
    before = _snapshot(copy)
    elsewhere = tmp_path / "cwd"  # MLflow's default store is `mlflow.db` in the working folder
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = checked(copy, tmp_path, STORES[backend], champion("good"))
    assert not result.evaluation.active
    assert _snapshot(copy) == before
    assert list(elsewhere.iterdir()) == []


def test_a_sqlite_store_whose_name_has_uri_characters_is_read(repo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "re?po #%20"
    shutil.copytree(repo, copy, symlinks=True)
    (copy / "mlflow.db").rename(copy / "ml?mode=rwc#%41.db")
    result = checked(copy, tmp_path, "ml?mode=rwc#%41.db", champion("good"))
    assert not result.evaluation.active
    assert model_versions(result.graph)


def test_a_store_outside_the_repository_is_refused_located(repo: Path, tmp_path: Path) -> None:
    policy = _policy(tmp_path, "../elsewhere/mlflow.db", champion("good"))
    done = CliRunner().invoke(main, ["check", str(repo), "--policy", str(policy)])
    assert done.exit_code == 2, done.output
    assert f"{policy.name}:2:" in done.output and "leaves the repository" in done.output


def _store_error(root: Path, tmp_path: Path, store: str) -> Any:
    policy = _policy(tmp_path, store, champion("good"))
    return CliRunner().invoke(main, ["check", str(root), "--policy", str(policy)])


def test_a_store_needing_creation_or_migration_is_not_judged(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "repo"
    root.mkdir()
    sqlite3.connect(root / "empty.db").execute("create table t (x)").connection.commit()
    before = (root / "empty.db").read_bytes()
    done = _store_error(root, tmp_path, "empty.db")
    assert done.exit_code == 2, done.output
    assert "empty.db" in done.output and "would write to it" in done.output
    assert (root / "empty.db").read_bytes() == before


def test_a_missing_store_is_not_judged(tmp_path: Path) -> None:
    done = _store_error(tmp_path, tmp_path, "nowhere.db")
    assert done.exit_code == 2 and "not found" in done.output


PACK = """\
policy "pack"
mlflow in "{store}"
import "@mlpolicy/mlsecops.policy" with data_team = team, ml_team = team,
  ops_team = team, security_team = team
key alice from "{key}"
role team = alice
"""


@pytest.mark.parametrize("backend", sorted(STORES))
def test_the_pack_accepts_mlflow_evidence_for_reproducibility(
    repo: Path, tmp_path: Path, backend: str, key_dir: Any
) -> None:
    key_dir(repo)  # keys a policy names are read inside the repository only
    policy = tmp_path / "pack.policy"
    policy.write_text(PACK.format(store=STORES[backend], key="keys/alice.pub"))
    loaded = load_policy([policy], repo)
    assert loaded.policy is not None, loaded.diagnostics
    result = check(loaded.policy, repo, now=NOW, hash_cache=False)
    active = result.evaluation.active
    reproducible = [f for f in active if f.control == "MLS-TR-01" and "models:/" in f.subject]
    failing = sorted(f.subject.split("/")[1] for f in reproducible)
    assert failing == ["moved", "nocommit", "nodata", "stranger"]
    [moved] = [f for f in reproducible if f.subject.startswith("models:/moved/")]
    assert "`data/untracked.csv` is not tracked by DVC" in moved.message
