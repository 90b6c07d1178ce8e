"""Tests for the DVC builder, on real repositories made by the real ``dvc`` command.

One git + DVC project is built and reproduced once per module (``project``) and
its graph built once (``graph``); tests that must change a repository work on
copies. ``dvc.lock`` is always DVC's own; expected digests are computed here
with hashlib from the files the stages wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import build_dvc
from policy_engine.graph.model import DigestClaim, ProvenanceGraph, SourceRef
from policy_engine.keys import Keyring

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "GIT_CONFIG_NOSYSTEM": "1",
}

PARAMS = """\
train:
  seed: 42
  lr: 0.1
featurize:
  ngrams: 2
  norm:
    kind: l2
models: [a, b]
"""

STEPS_PY = """\
import pathlib
import sys

op, src, dst, *rest = sys.argv[1:]
text = pathlib.Path(src).read_text() if src != "-" else ""
out = {
    "upper": lambda: text.upper(),
    "repeat": lambda: text * int(rest[0]),
    "append": lambda: text + rest[0],
    "reverse": lambda: text[::-1],
    "put": lambda: rest[0],
}[op]()
pathlib.Path(dst).parent.mkdir(parents=True, exist_ok=True)
pathlib.Path(dst).write_text(out)
"""

PIPELINE = """\
vars:
  - suffix: "!"
stages:
  prepare:
    desc: Clean the raw data
    meta: {owner: data-team}
    cmd: python steps.py upper raw.txt data/clean.txt
    deps: [raw.txt]
    outs: [data/clean.txt]
  featurize:
    cmd: python steps.py repeat data/clean.txt features.txt ${featurize.ngrams}
    deps: [data/clean.txt]
    params: [featurize]
    outs: [features.txt]
  train:
    cmd: python steps.py append features.txt model.bin '${suffix}'
    deps: [features.txt]
    params:
      - train.seed
      - conf/extra.yaml:
          - tag
    outs: [model.bin]
  evaluate:
    foreach: ${models}
    do:
      cmd: python steps.py put - eval/${item}/score.txt ${item}
      deps: [model.bin]
      outs:
        - eval/${item}
  grid:
    matrix:
      opt: [sgd, adam]
      depth: [1, 2]
    cmd: echo ${item.opt}-${item.depth}
  never:
    frozen: true
    cmd: python steps.py put - never.txt x
    deps: [raw.txt]
    outs: [never.txt]
"""

SUB_PIPELINE = """\
stages:
  train:
    cmd: python ../steps.py reverse in.txt out.txt
    deps: [in.txt]
    outs: [out.txt]
"""


def run(cwd: Path, *args: str) -> None:
    command = [str(BIN / "dvc"), *args] if args[0] != "git" else list(args)
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def dvc_dir_md5(folder: Path) -> str:
    """DVC's directory hash: md5 of the sorted JSON manifest of the folder's files, + .dir."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    manifest = [{"md5": md5(p), "relpath": p.relative_to(folder).as_posix()} for p in files]
    return hashlib.md5(json.dumps(manifest, sort_keys=True).encode()).hexdigest() + ".dir"


def line_of(root: Path, file: str, text: str) -> int:
    lines = (root / file).read_text().splitlines()
    return lines.index(text) + 1


def build(root: Path) -> ProvenanceGraph:
    graph = ProvenanceGraph(str(root))
    build_dvc(graph, BuildContext(root, Keyring({})))
    return graph


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` (and root itself) with its mode, size and mtime."""
    seen = {".": _stat(root)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            seen[path.relative_to(root).as_posix()] = _stat(path)
    return seen


def _stat(path: Path) -> tuple[int, int, int]:
    info = path.lstat()
    return info.st_mode, info.st_size, info.st_mtime_ns


def permissions_enforced() -> bool:
    """Whether this process is stopped by file modes (root usually is not)."""
    if os.geteuid() != 0:
        return True
    probe = Path(tempfile.mkdtemp()) / "probe"
    try:
        probe.write_text("")
        probe.chmod(0)
        try:
            probe.read_text()
        except PermissionError:
            return True
        return False
    finally:
        shutil.rmtree(probe.parent)


NEEDS_PERMISSIONS = pytest.mark.skipif(
    not permissions_enforced(), reason="file modes are not enforced (root)"
)


def edge(graph: ProvenanceGraph, u: str, v: str, kind: str) -> dict:
    return graph.g.edges[u, v, kind]


def input_edge(graph: ProvenanceGraph, path: str, step: str) -> dict:
    return edge(graph, graph.artifact_id(path), graph.step_id(step), "input")


def output_edge(graph: ProvenanceGraph, step: str, path: str) -> dict:
    return edge(graph, graph.step_id(step), graph.artifact_id(path), "output")


def steps(graph: ProvenanceGraph) -> dict:
    return {step.name: step for step in graph.steps()}


# -- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + DVC project: an added source, a pipeline reproduced once, a sub-pipeline."""
    root = tmp_path_factory.mktemp("dvc") / "project"
    (root / "conf").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "steps.py").write_text(STEPS_PY)
    (root / "params.yaml").write_text(PARAMS)
    (root / "conf" / "extra.yaml").write_text("tag: v1\n")
    (root / "raw.txt").write_text("hello raw data\n")
    (root / "dvc.yaml").write_text(PIPELINE)
    (root / "sub" / "dvc.yaml").write_text(SUB_PIPELINE)
    (root / "sub" / "in.txt").write_text("sub input\n")
    run(root, "git", "init", "-q")
    run(root, "init", "-q")
    run(root, "add", "-q", "raw.txt")
    targets = ["prepare", "featurize", "train", "evaluate", "grid", "sub/dvc.yaml:train"]
    run(root, "repro", "-q", *targets)
    return root


@pytest.fixture(scope="module")
def graph(project: Path) -> ProvenanceGraph:
    return build(project)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty DVC project (``dvc init --no-scm``) to copy and fill."""
    root = tmp_path_factory.mktemp("dvc-template") / "repo"
    root.mkdir()
    run(root, "init", "--no-scm", "-q")
    return root


@pytest.fixture
def blank(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    return root


@pytest.fixture
def project_copy(project: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the project with no ``.dvc/tmp`` and no ``.dvc/.gitignore``.

    DVC's own ``Repo`` would create both when opening it.
    """
    root = tmp_path / "copy"
    shutil.copytree(project, root, symlinks=True)
    shutil.rmtree(root / ".dvc" / "tmp", ignore_errors=True)
    (root / ".dvc" / ".gitignore").unlink()
    yield root
    for folder, dirs, files in os.walk(root):  # undo a chmod -R a-w so cleanup works
        for name in [*dirs, *files, "."]:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)


# -- pipeline -----------------------------------------------------------------


def test_three_stage_chain_has_edges_and_lock_md5s(project: Path, graph: ProvenanceGraph) -> None:
    chain = [
        ("raw.txt", "prepare", "data/clean.txt"),
        ("data/clean.txt", "featurize", "features.txt"),
        ("features.txt", "train", "model.bin"),
    ]
    for source, step, product in chain:
        assert input_edge(graph, source, step)["digest"] == {"md5": md5(project / source)}
        assert output_edge(graph, step, product)["digest"] == {"md5": md5(project / product)}
    lock_line = line_of(project, "dvc.lock", "  train:")
    assert input_edge(graph, "features.txt", "train")["source"] == SourceRef(
        "dvc.lock", lock_line, "stage `train` dep"
    )
    assert output_edge(graph, "train", "model.bin")["source"].what == "stage `train` out"
    producers = [u for u, _, k in graph.g.in_edges(graph.artifact_id("model.bin"), keys=True)]
    assert producers == [graph.step_id("train")]


def test_step_fields_come_from_dvc_yaml(project: Path, graph: ProvenanceGraph) -> None:
    prepare = steps(graph)["prepare"]
    assert prepare.source == SourceRef(
        "dvc.yaml", line_of(project, "dvc.yaml", "  prepare:"), "dvc.yaml stage"
    )
    assert prepare.desc == "Clean the raw data"
    assert prepare.meta == {"owner": "data-team"}
    assert prepare.frozen is False
    assert prepare.cmd == ("python steps.py upper raw.txt data/clean.txt",)
    # vars and params interpolation, resolved by DVC
    assert steps(graph)["train"].cmd == ("python steps.py append features.txt model.bin '!'",)
    assert steps(graph)["featurize"].cmd == (
        "python steps.py repeat data/clean.txt features.txt 2",
    )


def test_foreach_and_matrix_stage_names(project: Path, graph: ProvenanceGraph) -> None:
    names = set(steps(graph))
    assert {"evaluate@a", "evaluate@b"} <= names
    assert {"grid@sgd-1", "grid@sgd-2", "grid@adam-1", "grid@adam-2"} <= names
    assert "evaluate" not in names and "grid" not in names
    assert steps(graph)["evaluate@b"].source.line == line_of(project, "dvc.yaml", "  evaluate:")
    assert steps(graph)["grid@adam-2"].cmd == ("echo adam-2",)


def test_directory_output_keeps_dvc_dir_md5(project: Path, graph: ProvenanceGraph) -> None:
    digest = output_edge(graph, "evaluate@a", "eval/a")["digest"]
    assert digest == {"md5": dvc_dir_md5(project / "eval" / "a")}
    assert digest["md5"].endswith(".dir")
    assert input_edge(graph, "model.bin", "evaluate@b")["digest"] == {
        "md5": md5(project / "model.bin")
    }


def test_params_the_lock_recorded_are_on_the_step(graph: ProvenanceGraph) -> None:
    assert steps(graph)["train"].params == {"train.seed": 42, "conf/extra.yaml:tag": "v1"}
    assert steps(graph)["featurize"].params == {"featurize.ngrams": 2, "featurize.norm.kind": "l2"}
    assert steps(graph)["prepare"].params == {}
    assert graph.artifact_id("params.yaml") not in graph.g


def test_dvc_added_file_is_a_declared_source(project: Path, graph: ProvenanceGraph) -> None:
    expected = DigestClaim(
        "md5", md5(project / "raw.txt"), SourceRef("raw.txt.dvc", None, "dvc add out")
    )
    assert expected in graph.claims("raw.txt")
    producers = list(graph.g.in_edges(graph.artifact_id("raw.txt")))
    assert producers == []
    assert "raw.txt.dvc" not in steps(graph)


def test_stage_never_reproduced_has_empty_digests(graph: ProvenanceGraph) -> None:
    never = steps(graph)["never"]
    assert never.frozen is True
    assert input_edge(graph, "raw.txt", "never")["digest"] == {}
    assert output_edge(graph, "never", "never.txt")["digest"] == {}
    assert output_edge(graph, "never", "never.txt")["source"].line is None
    assert graph.claims("never.txt") == []


def test_pipeline_in_a_subfolder(project: Path, graph: ProvenanceGraph) -> None:
    name = "sub/dvc.yaml:train"
    assert steps(graph)[name].source == SourceRef("sub/dvc.yaml", 2, "dvc.yaml stage")
    assert input_edge(graph, "sub/in.txt", name)["digest"] == {"md5": md5(project / "sub/in.txt")}
    out = output_edge(graph, name, "sub/out.txt")
    assert out["digest"] == {"md5": md5(project / "sub" / "out.txt")}
    assert out["source"].file == "sub/dvc.lock"
    assert "train" in steps(graph)
    assert graph.issues == []


def test_dvc2_lock_entry_keeps_dvcs_legacy_hash_name(project_copy: Path) -> None:
    """A DVC 2 lock (no ``hash: md5``) is read by DVC 3 as ``md5-dos2unix``; so is it here."""
    lock = project_copy / "dvc.lock"
    lines = lock.read_text().splitlines(keepends=True)
    lock.write_text("".join(line for line in lines if line.strip() != "hash: md5"))
    graph = build(project_copy)
    digest = input_edge(graph, "raw.txt", "prepare")["digest"]
    assert digest == {"md5-dos2unix": md5(project_copy / "raw.txt")}


# -- nothing written ----------------------------------------------------------


def test_reading_writes_nothing_in_the_repository(project_copy: Path) -> None:
    before = snapshot(project_copy)
    graph = build(project_copy)
    assert "train" in steps(graph)
    assert snapshot(project_copy) == before
    assert not (project_copy / ".dvc" / "tmp").exists()


def test_dvc_repo_by_default_writes_what_the_builder_avoids(
    project_copy: Path, tmp_path: Path
) -> None:
    """Guards the test above: plain ``dvc.repo.Repo`` does change this snapshot."""
    from dvc.repo import Repo

    before = snapshot(project_copy)
    site = {"core": {"site_cache_dir": str(tmp_path / "site")}}
    with Repo(str(project_copy), config=site) as repo:
        assert repo.index.stages
    assert (project_copy / ".dvc" / "tmp").is_dir()
    assert (project_copy / ".dvc" / ".gitignore").is_file()
    assert snapshot(project_copy) != before


@NEEDS_PERMISSIONS
def test_read_only_copy_can_be_read(project_copy: Path, graph: ProvenanceGraph) -> None:
    for folder, dirs, files in os.walk(project_copy):
        for name in [*dirs, *files, "."]:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)
    read_only = build(project_copy)
    assert set(steps(read_only)) == set(steps(graph))
    assert not (project_copy / ".dvc" / "tmp").exists()


# -- errors and edge cases ----------------------------------------------------


INVALID = {
    "yaml-syntax": ("dvc.yaml", "stages:\n  a:\n    cmd: echo a: b\n", "dvc.yaml:3", "mapping"),
    "schema": ("dvc.yaml", "stages:\n  a:\n    command: echo\n", "dvc.yaml", "extra keys"),
    "interpolation": ("dvc.yaml", "stages:\n  a:\n    cmd: echo ${nope}\n", "dvc.yaml", "nope"),
    "subfolder": ("sub/dvc.yaml", "stages:\n  a: [\n", "sub/dvc.yaml:3", "corrupted"),
    "not-utf8": ("dvc.yaml", "stages:\n  a:\n    cmd: echo \udcff\n", "dvc.yaml", "utf-8"),
    "dvc-file": ("data.dvc", "outs:\n- md5: 12\n  pathx: x\n", "data.dvc", "extra keys"),
    "lock": ("dvc.lock", "schema: '2.0'\nstages:\n  a:\n    cmd: 3\n", "dvc.lock", "cmd"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_dvc_file_is_an_input_error(blank: Path, case: str) -> None:
    file, text, location, detail = INVALID[case]
    if file == "dvc.lock":
        (blank / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo\n")
    (blank / file).parent.mkdir(exist_ok=True)
    (blank / file).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputError) as info:
        build(blank)
    assert info.value.location == location
    assert detail in info.value.message
    assert f"'{file}'" in info.value.message  # not DVC's path from the working directory
    assert str(blank) not in info.value.message and "../" not in info.value.message
    assert str(info.value).startswith(f"{location}: ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_dvc_yaml_that_is_not_a_regular_file_is_an_input_error(blank: Path) -> None:
    os.mkfifo(blank / "dvc.yaml")  # would block a naive reader
    with pytest.raises(InputError) as info:
        build(blank)
    assert info.value.location == "dvc.yaml"


@NEEDS_PERMISSIONS
def test_unreadable_dvc_yaml_is_an_input_error(blank: Path) -> None:
    (blank / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo\n")
    (blank / "dvc.yaml").chmod(0)
    try:
        with pytest.raises(InputError) as info:
            build(blank)
    finally:
        (blank / "dvc.yaml").chmod(0o644)
    assert info.value.location == "dvc.yaml"


def test_paths_leaving_the_repository_are_issues(blank: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("x")
    (blank / "linked").symlink_to(tmp_path / "outside")
    deps = ["../outside/secret.txt", str(tmp_path / "outside" / "secret.txt"), "linked/secret.txt"]
    stage = {"cmd": "echo", "deps": [*deps, "ok/../in.txt"], "outs": ["out.txt"]}
    (blank / "dvc.yaml").write_text(json.dumps({"stages": {"s": stage}}))
    graph = build(blank)
    assert sorted(issue.subject for issue in graph.issues) == sorted(deps)
    assert {issue.code for issue in graph.issues} == {"path-escape"}
    assert graph.issues[0].evidence[0].value == "dvc.yaml:1 (dvc.yaml stage)"
    assert sorted(a.path for a in graph.artifacts()) == ["in.txt", "out.txt"]


def test_folder_without_dvc_adds_nothing(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a DVC project\n")
    graph = build(tmp_path)
    assert graph.g.number_of_nodes() == 0
    assert graph.issues == []


def test_pipeline_without_dvc_dir_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo\n")
    with pytest.raises(InputError) as info:
        build(tmp_path)
    assert info.value.location == "dvc.yaml"


def test_module_import_does_not_import_dvc() -> None:
    code = (
        "import sys, policy_engine.graph.builders.dvc\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dvc'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=ENV, check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]"
