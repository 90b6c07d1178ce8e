"""Fuzzing the MLflow file-store reader: any ``mlruns/`` folder builds the graph's runs,
logged models and model versions or raises the engine's ``InputError``; never another
exception, never a second.

Inputs start from a valid store MLflow's own client wrote once per process (an
experiment with runs holding params, metrics, tags, a dataset input and an artifact,
a logged model, a registered model with a version and an alias): one or two of its
files mutated (YAML structure, so aliases too; bytes, so NUL and non-UTF-8), replaced
by raw text or an alias bomb, removed, or made a symlink leaving the repository, and
sometimes a new file or a symlinked run folder added. They are read by the builder's
public entry, ``build_mlflow``, from one repository folder per process rewritten for
every input.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from policy_engine.compiler.ir import Location, TrackingStore
from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.mlflow import build_mlflow
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring
from tests.fuzz.fuzzing import (
    EXAMPLES,
    check_input_error,
    counted,
    frozen_heap,
    fuzz_settings,
    shards,
)
from tests.fuzz.mutate import alias_bombs, mutate, mutate_bytes, paths

mlflow = pytest.importorskip("mlflow")

MEMORY = "/dev/shm"
STORE = TrackingStore("mlruns", Location("p.policy", 2, 1))
DATASET = '{"uri": "data/train.csv"}'


@dataclass(frozen=True)
class Link:
    """A symlink to ``target``, a path outside the repository."""

    target: str


Content = bytes | Link | None  # None: absent


def _write_store(root: Path) -> None:
    """A valid file store at ``root/mlruns``, written by MLflow's client."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.tracking import MlflowClient

    os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    uri = (root / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)  # MLflow's registry resolves `models:/` through it
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("fraud", tags={"team": "risk"})
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("a,b\n1,2\n")
    runs = []
    for index, commit in enumerate(("0123456789abcdef" * 2 + "01234567", "")):
        tags = {"mlflow.source.git.commit": commit, "mlflow.user": "ci"} if commit else {}
        run_id = client.create_run(experiment, tags=tags, run_name=f"train-{index}").info.run_id
        for step, value in enumerate((0.5, 0.9 + index / 100)):
            client.log_metric(run_id, "auc", value, step=step)
        client.log_param(run_id, "lr", "0.1")
        dataset = Dataset("train", "fingerprint", "local", DATASET)
        context = [InputTag("mlflow.data.context", "training")]
        client.log_inputs(run_id, datasets=[DatasetInput(dataset, context)])
        client.log_artifact(run_id, str(root / "data" / "train.csv"), "model")
        client.set_terminated(run_id)
        runs.append(run_id)
    model = client.create_logged_model(experiment, name="m", source_run_id=runs[0])
    client.create_registered_model("fraud-model")
    version = client.create_model_version(
        "fraud-model", f"models:/{model.model_id}", run_id=runs[0], model_id=model.model_id
    )
    client.set_registered_model_alias("fraud-model", "champion", version.version)
    client.delete_experiment(client.create_experiment("old"))
    mlflow.set_tracking_uri(None)


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by its path relative to it."""
    found: dict[str, bytes] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def _keys(documents: list[Any]) -> tuple[str, ...]:
    """Every key of the seed's YAML documents: mutations add keys the reader knows."""
    keys = {p[-1] for d in documents for p in paths(d) if p and isinstance(p[-1], str)}
    return tuple(sorted(keys))


class Store:
    """This process's repository with its store, rewritten per input, and the seed store.

    A file already as an input wants it is left alone: rewriting only what changed
    keeps the cost per input the reader's.
    """

    def __init__(self) -> None:
        memory = MEMORY if os.path.isdir(MEMORY) else None
        self.scratch = Path(tempfile.mkdtemp(prefix="mlpolicy-fuzz-mlflow-", dir=memory))
        self.root = self.scratch / "repo"
        self.root.mkdir()
        _write_store(self.root)
        self.seed = _files(self.root)
        self.written: dict[str, Content] = dict(self.seed)
        self.yaml = {n: yaml.safe_load(c) for n, c in self.seed.items() if n.endswith(".yaml")}
        self.keys = _keys(list(self.yaml.values()))
        self.outside = self.scratch / "outside"  # what a symlink out points at
        shutil.copytree(self.root / "mlruns", self.outside)
        self.targets = sorted(str(self.outside / n.partition("/")[2]) for n in self.seed)
        self.targets += ["/etc/passwd", "/dev/zero", str(self.outside), "/"]

    def write(self, files: dict[str, Content]) -> None:
        """Make the repository hold ``files``; files of the last input not in them go."""
        for name in self.written.keys() - files.keys():
            self._put(name, None)
        for name, content in files.items():
            if name not in self.written or self.written[name] != content:
                self._put(name, content)
        self.written = dict(files)

    def _put(self, name: str, content: Content) -> None:
        path = self.root / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        if content is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        else:
            path.write_bytes(content)


@functools.cache
def store() -> Store:
    """The process's store, written on first use (so collecting the suite writes none)."""
    return Store()


HOW = st.sampled_from(("structure", "structure", "bytes", "bytes", "raw", "missing", "link"))
RAW = st.binary(max_size=200) | alias_bombs


@st.composite
def stores(draw: st.DrawFn) -> dict[str, Content]:
    """The seed store with one or two files mutated, raw, missing or symlinked out, and
    perhaps a file or a symlinked folder added."""
    data = draw(st.data())
    here = store()
    files: dict[str, Content] = dict(here.seed)
    names = sorted(here.seed)
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2)):
        how = data.draw(HOW, label="how")
        if how == "structure" and name in here.yaml:
            document = mutate(data, here.yaml[name], here.keys)
            files[name] = yaml.safe_dump(document, allow_unicode=True).encode()
        elif how == "raw":
            files[name] = data.draw(RAW, label="raw")
        elif how == "missing":
            files[name] = None
        elif how == "link":
            files[name] = Link(data.draw(st.sampled_from(here.targets), label="to"))
        else:
            files[name] = mutate_bytes(data, here.seed[name])
    if data.draw(st.integers(0, 3), label="add") == 0:
        folder = os.path.dirname(data.draw(st.sampled_from(names), label="beside"))
        new = os.path.join(folder, data.draw(st.sampled_from(("new", "meta.yaml", "x.yaml"))))
        files.setdefault(new, data.draw(RAW | st.sampled_from(here.targets).map(Link)))
    return files


def read(files: dict[str, Content]) -> None:
    """The property: the store's records are built, or an InputError names the store."""
    here = store()
    here.write(files)
    context = BuildContext(here.root, Keyring({}), hash_cache=False, tracking_stores=(STORE,))
    try:
        build_mlflow(ProvenanceGraph(str(here.root)), context)
    except InputError as error:
        check_input_error(error)


check_mlflow = counted("mlflow")(read)


@pytest.fixture(scope="module")
def loaded() -> Iterator[None]:
    """MLflow imported (by reading the valid store), then the heap frozen while the target runs."""
    read(dict(store().seed))
    with frozen_heap():
        yield


@pytest.mark.slow  # MLflow's client reads each input in tens of milliseconds
@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize("shard", shards(EXAMPLES))
@fuzz_settings(EXAMPLES)
@given(stores())
def test_any_mlflow_store_builds_or_gives_an_input_error(
    shard: int, files: dict[str, Content]
) -> None:
    check_mlflow(files)
