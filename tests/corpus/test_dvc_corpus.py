"""The DVC builder on real third-party DVC repositories (the shared corpus, see its MANIFEST.md).

Every DVC snapshot of the corpus is loaded: example-get-started (16 tags, branches
and experiments), dataset-registry, pyro-dataset (HEAD and v3.0.0) and vision-rd
(9 sub-projects in one git repository, plus a history snapshot with ``matrix``).
The corpus is read-only third-party data: its DVC folders are copied once to a
temporary folder and read there, and the copy is checked unchanged after reading.
Expected names, edges and digests come from the snapshots' own ``dvc.lock`` files
(read here with PyYAML, independently of DVC) and from the facts MANIFEST.md lists.
"""

from __future__ import annotations

import functools
import os
import posixpath
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import build_dvc
from policy_engine.graph.model import Issue, ProvenanceGraph
from policy_engine.keys import Keyring

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
DVC_FOLDERS = (
    "dvc-example-get-started",
    "dvc-dataset-registry",
    "dvc-pyronear-pyro-dataset",
    "dvc-pyronear-vision-rd",
)
GET_STARTED = [
    f"dvc-example-get-started/{name}"
    for name in (
        "2-track-data", "3-config-remote", "4-import-data", "5-source-code", "6-prepare-stage",
        "7-ml-pipeline", "8-dvclive-eval", "9-bigrams-model", "10-bigrams-experiment",
        "11-random-forest-experiments", "branch-try-large-dataset", "exp-messy-tire",
        "exp-minor-coos", "exp-nubby-inks", "exp-potty-quiz", "exp-raked-vise",
    )
]  # fmt: skip
PYRO_HEAD = "dvc-pyronear-pyro-dataset/head-4e16c464"
PYRO_V3 = "dvc-pyronear-pyro-dataset/v3.0.0-ca2a1b0a"
REGISTRY = "dvc-dataset-registry/at-f59388cd"
VISION = "dvc-pyronear-vision-rd"
SNAPSHOTS = [*GET_STARTED, REGISTRY, PYRO_HEAD, PYRO_V3, VISION]

BBOX = "experiments/temporal-models/bbox-tube-temporal"
LEADERBOARD = "experiments/temporal-models/temporal-model-leaderboard"
HISTORY = "history-frame-level-matrix-b7c6dd75/experiments/data-quality/frame-level"
VISION_PROJECTS = [
    "experiments/data-quality/frame-level",
    "experiments/data-quality/sequential",
    "experiments/template",
    BBOX,
    "experiments/temporal-models/mtb-change-detection",
    "experiments/temporal-models/pyro-detector-baseline",
    LEADERBOARD,
    "experiments/temporal-models/tracking-fsm-baseline",
    "literature_survey",
]
# Lock entries whose stage dvc.yaml no longer defines, by lock (MANIFEST.md: pyro-dataset
# 23; bbox-tube-temporal counts 58 entries for 45 expanded stages, so 13 including the
# stale `package` the MANIFEST describes apart; the leaderboard's evaluate_bbox_tube_temporal).
STALE = {
    f"{PYRO_HEAD}/dvc.lock": 23,
    f"{PYRO_V3}/dvc.lock": 23,
    f"{VISION}/{BBOX}/dvc.lock": 13,
    f"{VISION}/{LEADERBOARD}/dvc.lock": 1,
}
LOCKS = sorted(
    path.relative_to(CORPUS).as_posix()
    for folder in DVC_FOLDERS
    if (CORPUS / folder).is_dir()
    for path in (CORPUS / folder).rglob("dvc.lock")
)
PYRO_REV_LOCK = "ca2a1b0a47163feefaeb02ba43b239eb64898362"
REGISTRY_REV_LOCK = "f59388cd04276e75d70b2136597aaa27e7937cc3"
DATA_XML_MD5 = "22a1a2931c8370d3aeedd7183606fd7f"

pytestmark = [
    pytest.mark.slow,  # every corpus repository, end to end
    pytest.mark.skipif(
        not CORPUS.is_dir(), reason=f"the shared corpus of third-party files is not at {CORPUS}"
    ),
]


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` with its mode, size and mtime."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            info = Path(folder, name).lstat()
            relative = Path(folder, name).relative_to(root).as_posix()
            seen[relative] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return seen


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of the corpus's DVC folders (the corpus itself is never opened by DVC)."""
    copy = tmp_path_factory.mktemp("corpus")
    for folder in DVC_FOLDERS:
        shutil.copytree(CORPUS / folder, copy / folder, symlinks=True)
    for folder, dirs, files in os.walk(copy):
        for name in [*dirs, *files]:
            Path(folder, name).chmod(Path(folder, name).stat().st_mode | 0o200)
    return copy


@pytest.fixture(scope="module")
def graph_of(corpus: Path) -> Callable[[str], ProvenanceGraph]:
    """The graph of a snapshot, built once; building must change nothing in the snapshot."""
    graphs: dict[str, ProvenanceGraph] = {}

    def build(name: str) -> ProvenanceGraph:
        if name not in graphs:
            root = corpus / name
            before = snapshot(root)
            graphs[name] = ProvenanceGraph(str(root))
            build_dvc(graphs[name], BuildContext(root, Keyring({})))
            assert snapshot(root) == before
        return graphs[name]

    return build


def steps(graph: ProvenanceGraph) -> dict:
    return {step.name: step for step in graph.steps()}


def issues(graph: ProvenanceGraph, code: str) -> list[Issue]:
    return [issue for issue in graph.issues if issue.code == code]


def digest_of(item: dict) -> dict[str, str]:
    """The digest a lock item records, named as DVC 3 reads it."""
    return {"md5" if item.get("hash") == "md5" else "md5-dos2unix": item["md5"]}


def edge(graph: ProvenanceGraph, u: str, v: str, kind: str) -> dict:
    return graph.g.edges[u, v, kind]


def output_digest(graph: ProvenanceGraph, step: str, path: str) -> dict:
    return edge(graph, graph.step_id(step), graph.artifact_id(path), "output")["digest"]


# -- every snapshot ----------------------------------------------------------------


def test_the_corpus_has_every_snapshot_the_manifest_lists() -> None:
    assert [s for s in SNAPSHOTS if not (CORPUS / s).is_dir()] == []
    assert len(LOCKS) == 22


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_snapshot_loads_consistently(graph_of: Callable, name: str) -> None:
    graph = graph_of(name)
    assert graph.g.number_of_nodes() > 0
    unexpected = {"stale-lock", "duplicate-output"}  # the corpus's only known problems
    assert [i for i in graph.issues if i.code not in unexpected] == []


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_entries_are_steps_with_their_edges_and_digests(graph_of: Callable, lock: str) -> None:
    """Each entry of each lock: its step (DVC's name, addressed from the snapshot root),
    an edge per dep and out carrying the entry's md5; entries no stage defines: stale."""
    name = next(s for s in sorted(SNAPSHOTS, key=len, reverse=True) if lock.startswith(s + "/"))
    graph = graph_of(name)
    folder = posixpath.dirname(lock[len(name) + 1 :])
    dvcfile = posixpath.join(folder, "dvc.yaml")
    entries = yaml.safe_load((CORPUS / lock).read_text())["stages"]
    prefix = "" if dvcfile == "dvc.yaml" else f"{dvcfile}:"
    defined = {
        s[len(prefix) :]
        for s in steps(graph)
        if s.startswith(prefix) and ":" not in s[len(prefix) :]
    }
    stale = {
        issue.subject[len(prefix) :]
        for issue in issues(graph, "stale-lock")
        if issue.subject.startswith(prefix) and ":" not in issue.subject[len(prefix) :]
    }
    assert defined | stale == set(entries) and not defined & stale
    assert len(stale) == STALE.get(lock, 0)
    for stage in defined:
        for item in entries[stage].get("deps", []):
            path = posixpath.normpath(posixpath.join(folder, item["path"]))
            found = edge(graph, graph.artifact_id(path), graph.step_id(prefix + stage), "input")
            assert found["digest"] == (digest_of(item) if "md5" in item else {})
        for item in entries[stage].get("outs", []):
            path = posixpath.normpath(posixpath.join(folder, item["path"]))
            assert output_digest(graph, prefix + stage, path) == digest_of(item)


# -- example-get-started -------------------------------------------------------------


@pytest.mark.parametrize("name", [s for s in GET_STARTED if (CORPUS / s / "dvc.lock").is_file()])
def test_get_started_locks_agree_with_params_sources_and_data(
    graph_of: Callable, name: str
) -> None:
    """MANIFEST: lock params = params.yaml; lock md5 of src/*.py = SRC_MD5SUMS; data.xml = .dvc."""
    graph = graph_of(name)
    params = yaml.safe_load((CORPUS / name / "params.yaml").read_text())
    for step in graph.steps():
        for key, value in step.params.items():
            assert (
                functools.reduce(lambda found, part: found[part], key.split("."), params) == value
            )
    sums = (CORPUS / name / "SRC_MD5SUMS.txt").read_text().split("\n")
    expected = {line.split()[2]: line.split()[0] for line in sums if line}
    checked = 0
    for step in graph.steps():
        for source, _ in graph.g.in_edges(graph.step_id(step.name)):
            path = graph.g.nodes[source]["data"].path
            if path in expected:
                assert edge(graph, source, graph.step_id(step.name), "input")["digest"] == {
                    "md5": expected[path]
                }
                checked += 1
    assert checked >= 1
    claims = graph.claims("data/data.xml")
    assert {c.source.file for c in claims} == {"data/data.xml.dvc", "dvc.lock"}
    assert len({c.value for c in claims}) == 1  # the lock consumed what the .dvc file declares
    if "large" not in name:
        assert claims[0].value == DATA_XML_MD5


def test_get_started_import_records_the_registry_it_came_from(graph_of: Callable) -> None:
    origin = graph_of("dvc-example-get-started/4-import-data").origin("data/data.xml")
    assert origin is not None
    assert (origin.kind, origin.url, origin.path) == (
        "import",
        "https://github.com/iterative/dataset-registry",
        "get-started/data.xml",
    )
    assert (origin.rev, origin.rev_lock, origin.frozen) == (None, REGISTRY_REV_LOCK, True)
    assert origin.source.file == "data/data.xml.dvc"
    # the upstream's own .dvc file declares the bytes the import recorded
    registry = graph_of(REGISTRY)
    assert [c.value for c in registry.claims("get-started/data.xml")] == [DATA_XML_MD5]
    assert registry.origin("get-started/data.xml").kind == "added"
    added = graph_of("dvc-example-get-started/2-track-data").origin("data/data.xml")
    assert added is not None and added.kind == "added"


def test_get_started_declares_artifacts_metrics_and_plots(graph_of: Callable) -> None:
    graph = graph_of("dvc-example-get-started/10-bigrams-experiment")
    [model] = graph.declarations("model.pkl")
    assert (model.role, model.name, model.type) == ("artifact", "text-classification", "model")
    assert model.labels == ("nlp", "classification", "stackoverflow")
    [dataset] = graph.declarations("data/data.xml")
    assert (dataset.name, dataset.type) == ("stackoverflow-dataset", "dataset")
    assert [d.role for d in graph.declarations("eval/metrics.json")] == ["metrics"]
    [roc] = graph.declarations("eval/plots/sklearn/roc/test.json")
    assert (roc.role, roc.name) == ("plots", "ROC")
    # a declared file inside the `eval` output is produced by `evaluate` (digest unknown)
    assert output_digest(graph, "evaluate", "eval/metrics.json") == {}
    assert output_digest(graph, "evaluate", "eval")["md5"].endswith(".dir")


def test_swapped_params_are_a_finding(graph_of: Callable, corpus: Path, tmp_path: Path) -> None:
    """MANIFEST mutation: 10-bigrams-experiment's lock with exp-nubby-inks's params.yaml."""
    root = tmp_path / "swapped"
    shutil.copytree(corpus / "dvc-example-get-started/10-bigrams-experiment", root)
    shutil.copy(corpus / "dvc-example-get-started/exp-nubby-inks/params.yaml", root)
    graph = ProvenanceGraph(str(root))
    build_dvc(graph, BuildContext(root, Keyring({})))
    [issue] = issues(graph, "params-changed")
    assert issue.subject == "train"
    assert [(e.label, e.value) for e in issue.evidence] == [
        ("params.yaml:train.min_split in the lock", "0.01"),
        ("params.yaml:train.min_split now", "8"),
    ]


# -- pyro-dataset ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [PYRO_HEAD, PYRO_V3])
def test_pyro_dataset_directory_outputs_and_stale_entries(graph_of: Callable, name: str) -> None:
    graph = graph_of(name)
    digest = output_digest(graph, "build_sequential_dataset", "data/processed/sequential_train_val")
    assert digest["md5"].endswith(".dir")
    if name == PYRO_V3:  # the version the vision-rd imports resolved to
        assert digest == {"md5": "5f3f271ad08e8f0e21454e4c8af8c89e.dir"}
    assert len(steps(graph)) == (9 if name == PYRO_HEAD else 8)
    assert len(issues(graph, "stale-lock")) == 23
    assert {a.path for a in graph.artifacts() if graph.origin(a.path)} == {
        "data/raw/fp",
        "data/raw/wildfire",
    }


# -- vision-rd ---------------------------------------------------------------------------


def test_vision_rd_sub_projects_are_all_read(graph_of: Callable) -> None:
    graph = graph_of(VISION)
    dvcfiles = {name.split(":")[0] for name in steps(graph)}
    expected = {
        f"{p}/dvc.yaml"
        for p in VISION_PROJECTS
        if p not in ("experiments/template", "literature_survey")
    }
    assert dvcfiles == expected | {f"{HISTORY}/dvc.yaml"}
    sources = {c.source.file for a in graph.artifacts() for c in graph.claims(a.path)}
    assert "literature_survey/pdfs.dvc" in sources
    assert all(
        not name.startswith(("experiments/", "history-")) or ":" in name for name in steps(graph)
    )


def test_vision_rd_foreach_and_matrix_names_are_dvcs(graph_of: Callable) -> None:
    names = set(steps(graph_of(VISION)))
    frame = "experiments/data-quality/frame-level/dvc.yaml"
    sequential = "experiments/data-quality/sequential/dvc.yaml"
    assert {
        f"{frame}:prepare@yolo11s-nimble-narwhal",
        f"{sequential}:predict_bbox_tube_temporal_vit_dinov2_finetune@train",
        f"{sequential}:predict_bbox_tube_temporal_vit_dinov2_finetune@test",
        "experiments/temporal-models/mtb-change-detection/dvc.yaml:evaluate@val_all",
        "experiments/temporal-models/pyro-detector-baseline/dvc.yaml:evaluate@val_all",
        f"{BBOX}/dvc.yaml:evaluate_packaged@0",  # a foreach over a list of mappings
        f"{BBOX}/dvc.yaml:package@vit_dinov2_finetune",
    } <= names
    history = {n.split(":")[1] for n in names if n.startswith(HISTORY)}
    assert history == {
        "prepare@model0",
        *(
            f"{stage}@model0-{split}"
            for stage in ("predict", "build_fiftyone")
            for split in ("train", "val", "test")
        ),
    }
    assert len([n for n in names if n.startswith(f"{BBOX}/")]) == 45


def test_vision_rd_params_scoped_by_foreach_key(graph_of: Callable) -> None:
    step = steps(graph_of(VISION))[
        "experiments/data-quality/frame-level/dvc.yaml:prepare@yolo11s-nimble-narwhal"
    ]
    assert step.params == {
        "models.yolo11s-nimble-narwhal.hf_repo": "pyronear/yolo11s_nimble-narwhal_v6.0.0",
        "models.yolo11s-nimble-narwhal.hf_filename": "best.pt",
    }
    assert step.desc == "Download yolo11s-nimble-narwhal .pt from HuggingFace"


def test_vision_rd_imports_record_their_origin(graph_of: Callable) -> None:
    graph, upstream = graph_of(VISION), graph_of(PYRO_V3)
    origins = {a.path: graph.origin(a.path) for a in graph.artifacts() if graph.origin(a.path)}
    pyro = {p: o for p, o in origins.items() if o.url == "https://github.com/pyronear/pyro-dataset"}
    assert len(pyro) == 24
    assert {(o.kind, o.rev, o.rev_lock, o.frozen) for o in pyro.values()} == {
        ("import", "v3.0.0", PYRO_REV_LOCK, True)
    }
    produced = {
        a.path
        for a in upstream.artifacts()
        if upstream.flow.in_degree(upstream.artifact_id(a.path))
    }
    for origin in pyro.values():  # a sub-path of an upstream output: linked by path prefix
        assert any(origin.path == p or origin.path.startswith(p + "/") for p in produced)
    model = "experiments/data-quality/sequential/data/01_raw/models/"
    model += "bbox-tube-temporal-vit-dinov2-finetune.zip"
    own = origins[model]
    assert (own.url, own.rev, own.rev_lock) == (
        "git@github.com:pyronear/vision-rd.git",
        "main",
        "1908147addcc13733d0ddbfc6eacfe0ba4f09f4e",
    )
    assert own.path == f"{BBOX}/data/06_models/vit_dinov2_finetune/model.zip"
    [claim] = [c for c in graph.claims(model) if c.source.file.endswith(".dvc")]
    assert claim.value == "061f2954e6a36d5553dc0615a0ed5e16"
    # the self-import's bytes are those the package stage of this repository produced
    assert output_digest(graph, f"{BBOX}/dvc.yaml:package@vit_dinov2_finetune", own.path) == {
        "md5": claim.value
    }
    leaderboard = f"{LEADERBOARD}/data/01_raw/models/mtb-change-detection.zip"
    assert origins[leaderboard].kind == "added"


def test_vision_rd_stale_package_entry_makes_the_model_ambiguous(graph_of: Callable) -> None:
    graph = graph_of(VISION)
    path = f"{BBOX}/data/06_models/vit_dinov2_finetune/model.zip"
    [duplicate] = issues(graph, "duplicate-output")
    assert duplicate.subject == path
    assert [(e.label, e.value) for e in duplicate.evidence] == [
        (
            f"stage `{BBOX}/dvc.yaml:package@vit_dinov2_finetune`",
            "md5:061f2954e6a36d5553dc0615a0ed5e16",
        ),
        (f"stale lock entry `{BBOX}/dvc.yaml:package`", "md5:f6a972c7d14d0bdf1afc527e7d106a02"),
    ]
    assert f"{BBOX}/dvc.yaml:package" in {i.subject for i in issues(graph, "stale-lock")}
    assert len(issues(graph, "stale-lock")) == 14
