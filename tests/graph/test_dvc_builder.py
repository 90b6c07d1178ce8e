"""Tests for the DVC builder, on real repositories made by the real ``dvc`` command.

One git + DVC project is built and reproduced once per module (``project``) and
its graph built once (``graph``), as is a git repository holding two DVC
projects (``monorepo``); tests that must change a repository work on copies.
``dvc.lock`` is always DVC's own (a test that needs another lock edits DVC's);
expected digests are computed here with hashlib from the files the stages wrote.
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
import yaml

from policy_engine.errors import InputError
from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import build_dvc
from policy_engine.graph.builders.dvc.search import ProjectSearch
from policy_engine.graph.model import (
    Declaration,
    DigestClaim,
    Evidence,
    Issue,
    Origin,
    ProvenanceGraph,
    SourceRef,
)
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
artifacts:
  scorer:
    path: model.bin
    type: model
    desc: The trained scorer
    labels: [demo]
metrics:
  - metrics.json
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
  report:
    cmd:
      - python steps.py upper eval/a/score.txt report.txt
      - python steps.py put - metrics.json 1
    deps: [eval/a/score.txt]
    outs:
      - report.txt:
          desc: The report
          type: report
    metrics:
      - metrics.json:
          cache: false
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


def cache_file(root: Path, digest: str) -> Path:
    """Where DVC 3 keeps the object ``digest`` in the project's cache."""
    return root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]


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


def issues(graph: ProvenanceGraph, code: str) -> list[Issue]:
    return [issue for issue in graph.issues if issue.code == code]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# -- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + DVC project: added sources (a file, a folder), an import from a URL,
    a pipeline reproduced once except its ``never`` stage, a sub-pipeline."""
    root = tmp_path_factory.mktemp("dvc") / "project"
    for folder in ("conf", "sub", "images/icons", "data"):
        (root / folder).mkdir(parents=True)
    (root / "steps.py").write_text(STEPS_PY)
    (root / "params.yaml").write_text(PARAMS)
    (root / "conf" / "extra.yaml").write_text("tag: v1\n")
    (root / "raw.txt").write_text("hello raw data\n")
    (root / "images" / "a.png").write_text("png a\n")
    (root / "images" / "icons" / "b.png").write_text("png b\n")
    (root / "dvc.yaml").write_text(PIPELINE)
    (root / "sub" / "dvc.yaml").write_text(SUB_PIPELINE)
    (root / "sub" / "in.txt").write_text("sub input\n")
    (root.parent / "upstream.csv").write_text("a,b\n1,2\n")
    run(root, "git", "init", "-q")
    run(root, "init", "-q")
    run(root, "add", "-q", "raw.txt", "images")
    run(root, "import-url", "-q", str(root.parent / "upstream.csv"), "data/upstream.csv")
    targets = ["prepare", "featurize", "train", "evaluate", "grid", "report", "sub/dvc.yaml:train"]
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


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One git repository, no DVC at its root: projects ``ml/a`` (reproduced, with a
    sub-pipeline) and ``ml/b`` (``dvc init --subdir``), and a pipeline in no project."""
    root = tmp_path_factory.mktemp("mono") / "repo"
    for folder in ("ml/a/sub", "ml/b", "docs"):
        (root / folder).mkdir(parents=True)
    (root / "steps.py").write_text(STEPS_PY)
    for name in ("a", "b"):
        (root / "ml" / name / "dvc.yaml").write_text(SUB_PIPELINE.replace("../", "../../"))
        (root / "ml" / name / "in.txt").write_text(f"{name} input\n")
    (root / "ml/a/sub/dvc.yaml").write_text("stages:\n  x:\n    cmd: echo\n    deps: [in.txt]\n")
    (root / "docs" / "dvc.yaml").write_text("stages:\n  doc:\n    cmd: echo\n")
    run(root, "git", "init", "-q")
    run(root / "ml" / "a", "init", "-q", "--subdir")
    run(root / "ml" / "b", "init", "-q", "--subdir")
    run(root / "ml" / "a", "repro", "-q", "train")
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
    assert graph.origin("raw.txt") == Origin("added", expected.source)
    assert graph.origin("model.bin") is None


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
    assert [(issue.code, issue.subject) for issue in graph.issues] == [("not-in-lock", "never")]


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
    escapes = issues(graph, "path-escape")
    assert sorted(issue.subject for issue in escapes) == sorted(deps)
    assert escapes[0].evidence[0].value == "dvc.yaml:1 (dvc.yaml stage)"
    assert [i.code for i in graph.issues if i not in escapes] == ["not-in-lock"]  # never ran
    assert sorted(a.path for a in graph.artifacts()) == ["in.txt", "out.txt"]


def test_dvc_file_outputs_leaving_the_repository_are_issues(blank: Path) -> None:
    digest = "e" * 32
    (blank / "up.dvc").write_text(f"outs:\n- md5: {digest}\n  path: ../outside.txt\n")
    (blank / "wdir.dvc").write_text(f"wdir: ../..\nouts:\n- md5: {digest}\n  path: etc/passwd\n")
    graph = build(blank)
    escapes = issues(graph, "path-escape")
    assert [(i.subject, i.evidence[0].value) for i in escapes] == [
        ("../outside.txt", "up.dvc (dvc add out)"),
        ("etc/passwd", "wdir.dvc (dvc add out)"),
    ]
    assert list(graph.artifacts()) == []


VARS_OUTSIDE = {
    "top-level": "vars: [../outside.yaml]\nstages:\n  a:\n    cmd: echo ${secret}\n",
    "with-keys": "vars: ['../outside.yaml:secret']\nstages:\n  a:\n    cmd: echo ${secret}\n",
    "stage": "stages:\n  a:\n    vars: [../../outside.yaml]\n    wdir: sub\n    cmd: echo\n",
    "params-link": "stages:\n  a:\n    cmd: echo ${secret}\n",
}


@pytest.mark.parametrize("case", sorted(VARS_OUTSIDE))
def test_vars_files_outside_the_repository_are_never_read(
    blank: Path, tmp_path: Path, case: str
) -> None:
    """DVC would read them and put their values into commands; nothing is read instead."""
    (tmp_path / "outside.yaml").write_text("secret: hunter2\n")
    (blank / "sub").mkdir()
    if case == "params-link":
        (blank / "params.yaml").symlink_to(tmp_path / "outside.yaml")
    (blank / "dvc.yaml").write_text(VARS_OUTSIDE[case])
    with pytest.raises(InputError) as info:
        build(blank)
    assert info.value.location == "dvc.yaml"
    assert "outside the repository" in info.value.message
    assert "hunter2" not in str(info.value)


def _alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


VARS_REFUSED = {  # (file, how it is made) -> the refusal, before DVC's resolver reads it
    "params-fifo": ("params.yaml", "fifo", "params file is not a regular file"),
    "params-bomb": ("params.yaml", _alias_bomb(), "YAML aliases expand to more than"),
    "vars-bomb": ("conf/v.yml", _alias_bomb(), "YAML aliases expand to more than"),
    "vars-no-suffix": ("conf/v", _alias_bomb(), "YAML aliases expand to more than"),
    "vars-not-utf8": ("conf/v.json", b'{"a": "\xff"}', "params file is not UTF-8 text"),
}


@pytest.mark.parametrize("case", sorted(VARS_REFUSED))
def test_vars_files_are_read_as_input_before_dvc_resolves_them(blank: Path, case: str) -> None:
    """A FIFO would hang DVC's resolver, an alias bomb exhaust it: refused, located at the file."""
    file, content, message = VARS_REFUSED[case]
    path = blank / file
    path.parent.mkdir(exist_ok=True)
    if content == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    vars_line = "" if file == "params.yaml" else f"vars: [{file}]\n"
    (blank / "dvc.yaml").write_text(vars_line + "stages:\n  a:\n    cmd: echo\n")
    with pytest.raises(InputError) as info:
        build(blank)
    assert info.value.location.split(":")[0] == file
    assert message in info.value.message


@pytest.mark.parametrize("file", ["dvc.yaml", "dvc.lock"])
def test_an_alias_bomb_in_a_pipeline_file_is_located_at_that_file(blank: Path, file: str) -> None:
    (blank / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo\n")
    (blank / file).write_text(_alias_bomb())
    with pytest.raises(InputError) as info:
        build(blank)
    assert info.value.location == file
    assert "YAML aliases expand to more than" in info.value.message


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


# -- directories ----------------------------------------------------------------


def test_files_of_a_directory_output_come_from_the_cached_manifest(
    project: Path, graph: ProvenanceGraph
) -> None:
    score = project / "eval" / "a" / "score.txt"
    out = output_edge(graph, "evaluate@a", "eval/a/score.txt")
    assert out["digest"] == {"md5": md5(score)}
    assert out["source"].what == "stage `evaluate@a` out `eval/a` manifest"
    assert out["source"].file == "dvc.lock"
    # the stage consuming a file of the folder consumed the bytes the manifest lists
    assert input_edge(graph, "eval/a/score.txt", "report")["digest"] == out["digest"]
    assert output_edge(graph, "evaluate@a", "eval/a")["digest"]["md5"].endswith(".dir")


def test_files_of_an_added_folder_are_claimed_by_its_dvc_file(
    project: Path, graph: ProvenanceGraph
) -> None:
    for name in ("a.png", "icons/b.png"):
        path = f"images/{name}"
        what = "dvc add out `images` manifest"
        claim = DigestClaim("md5", md5(project / path), SourceRef("images.dvc", None, what))
        assert graph.claims(path) == [claim]
        assert list(graph.g.in_edges(graph.artifact_id(path))) == []
    assert graph.claims("images")[0].value == dvc_dir_md5(project / "images")
    assert graph.origin("images") == Origin("added", SourceRef("images.dvc", None, "dvc add out"))


def test_file_in_a_folder_output_without_manifest_is_produced_by_its_stage(
    project_copy: Path,
) -> None:
    shutil.rmtree(project_copy / ".dvc" / "cache")
    graph = build(project_copy)
    out = output_edge(graph, "evaluate@a", "eval/a/score.txt")
    assert out["digest"] == {}
    assert out["source"].what == "stage `evaluate@a` out `eval/a`, which holds it"
    assert graph.artifact_id("images/a.png") not in graph.g  # nothing lists it
    assert issues(graph, "dir-manifest") == []


def test_lineage_reaches_through_the_files_of_a_directory_output(
    project_copy: Path, graph: ProvenanceGraph
) -> None:
    from policy_engine.evaluate.lineage import Lineage

    def derived_from_raw(graph: ProvenanceGraph) -> frozenset[str]:
        return Lineage(graph).reached(frozenset({graph.artifact_id("raw.txt")}))

    derived = derived_from_raw(graph)
    assert {"eval/a", "eval/a/score.txt", "report.txt", "metrics.json"} <= derived
    shutil.rmtree(project_copy / ".dvc" / "cache")  # no manifest: the file's bytes are unknown
    derived = derived_from_raw(build(project_copy))
    assert "eval/a" in derived and "report.txt" not in derived


def test_dvc2_folder_manifest_in_the_legacy_cache_layout(project_copy: Path) -> None:
    lock = project_copy / "dvc.lock"
    lines = lock.read_text().splitlines(keepends=True)
    lock.write_text("".join(line for line in lines if line.strip() != "hash: md5"))
    digest = dvc_dir_md5(project_copy / "eval" / "a").removesuffix(".dir")
    legacy = project_copy / ".dvc" / "cache" / digest[:2] / f"{digest[2:]}.dir"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(cache_file(project_copy, f"{digest}.dir"), legacy)
    graph = build(project_copy)
    out = output_edge(graph, "evaluate@a", "eval/a/score.txt")
    assert out["digest"] == {"md5-dos2unix": md5(project_copy / "eval/a/score.txt")}


def test_tampered_manifest_is_an_issue_and_lists_nothing(project_copy: Path) -> None:
    digest = dvc_dir_md5(project_copy / "eval" / "b")
    manifest = cache_file(project_copy, digest)
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace("score.txt", "evil.txt"))
    graph = build(project_copy)
    [issue] = issues(graph, "dir-manifest")
    assert issue.subject == "eval/b"
    assert "does not hash to" in issue.message
    line = line_of(project_copy, "dvc.lock", "  evaluate@b:")
    assert issue.evidence == (
        Evidence("digest", digest, f"dvc.lock:{line} (stage `evaluate@b` out)"),
    )
    assert graph.artifact_id("eval/b/evil.txt") not in graph.g
    assert graph.artifact_id("eval/b/score.txt") not in graph.g


def test_manifest_entry_leaving_its_folder_is_a_path_escape(project_copy: Path) -> None:
    entries = [
        {"md5": "0" * 32, "relpath": "../../outside.txt"},
        {"md5": "1" * 32, "relpath": "ok"},
    ]
    body = json.dumps(entries, sort_keys=True).encode()
    digest = hashlib.md5(body).hexdigest() + ".dir"
    cache_file(project_copy, digest).parent.mkdir(parents=True, exist_ok=True)
    cache_file(project_copy, digest).write_bytes(body)
    edit(project_copy / "dvc.lock", dvc_dir_md5(project_copy / "eval" / "b"), digest)
    graph = build(project_copy)
    [escape] = issues(graph, "path-escape")
    assert escape.subject == "../../outside.txt"
    assert output_edge(graph, "evaluate@b", "eval/b/ok")["digest"] == {"md5": "1" * 32}
    assert graph.artifact_id("outside.txt") not in graph.g


# -- imports, declarations --------------------------------------------------------


def test_import_url_records_its_origin(project: Path, graph: ProvenanceGraph) -> None:
    upstream = project.parent / "upstream.csv"
    source = SourceRef("data/upstream.csv.dvc", None, "dvc import out")
    origin = graph.origin("data/upstream.csv")
    assert origin == Origin(
        "import-url", source, url=str(upstream), digest={"md5": md5(upstream)}, frozen=True
    )
    assert graph.claims("data/upstream.csv") == [DigestClaim("md5", md5(upstream), source)]
    assert issues(graph, "dvc-file-edited") == []


def test_dvc_file_edited_by_hand_is_an_issue(project_copy: Path) -> None:
    dvcfile = project_copy / "data" / "upstream.csv.dvc"
    recorded = yaml.safe_load(dvcfile.read_text())["md5"]
    edit(dvcfile, "frozen: true", "frozen: true\nmeta: {note: x}")  # meta is not checksummed
    assert issues(build(project_copy), "dvc-file-edited") == []
    edit(dvcfile, md5(project_copy / "data/upstream.csv"), "e" * 32)
    [issue] = issues(build(project_copy), "dvc-file-edited")
    assert issue.subject == "data/upstream.csv.dvc"
    assert issue.evidence == (Evidence("recorded md5", recorded, "data/upstream.csv.dvc"),)


def test_artifacts_metrics_and_annotations_are_declarations(
    project: Path, graph: ProvenanceGraph
) -> None:
    assert graph.declarations("model.bin") == [
        Declaration(
            "artifact",
            SourceRef("dvc.yaml", 4, "dvc.yaml artifact"),
            name="scorer",
            type="model",
            desc="The trained scorer",
            labels=("demo",),
        )
    ]
    report = SourceRef("dvc.yaml", line_of(project, "dvc.yaml", "  report:"), "dvc.yaml stage")
    metrics_line = line_of(project, "dvc.yaml", "metrics:")
    assert graph.declarations("metrics.json") == [
        Declaration("metrics", report),
        Declaration("metrics", SourceRef("dvc.yaml", metrics_line, "dvc.yaml metrics")),
    ]
    assert graph.declarations("report.txt") == [
        Declaration("out", report, type="report", desc="The report")
    ]
    assert steps(graph)["report"].cmd == (
        "python steps.py upper eval/a/score.txt report.txt",
        "python steps.py put - metrics.json 1",
    )


# -- locks ------------------------------------------------------------------------


def test_stage_that_never_ran_is_not_in_the_lock(project: Path, graph: ProvenanceGraph) -> None:
    [issue] = issues(graph, "not-in-lock")
    assert issue.subject == "never"
    assert issue.evidence == (
        Evidence("defined at", f"dvc.yaml:{line_of(project, 'dvc.yaml', '  never:')}"),
    )


def test_renamed_stage_leaves_a_stale_entry_claiming_its_output(project_copy: Path) -> None:
    edit(project_copy / "dvc.yaml", "  train:\n", "  fit:\n")
    graph = build(project_copy)
    lock_line = line_of(project_copy, "dvc.lock", "  train:")
    [stale] = issues(graph, "stale-lock")
    assert stale.subject == "train"
    assert Evidence("lock entry", "train", f"dvc.lock:{lock_line}") in stale.evidence
    assert {issue.subject for issue in issues(graph, "not-in-lock")} == {"fit", "never"}
    [duplicate] = issues(graph, "duplicate-output")
    assert duplicate.subject == "model.bin"
    assert [(e.label, e.value) for e in duplicate.evidence] == [
        ("stage `fit`", "no digest"),
        ("stale lock entry `train`", f"md5:{md5(project_copy / 'model.bin')}"),
    ]


def test_definition_changed_since_the_lock_is_a_mismatch(project_copy: Path) -> None:
    pipeline = project_copy / "dvc.yaml"
    edit(pipeline, "upper raw.txt data/clean.txt", "upper raw.txt data/clean.txt --fast")
    edit(pipeline, "deps: [data/clean.txt]\n", "deps: [data/clean.txt, steps.py]\n")
    edit(pipeline, "      - train.seed\n", "      - train.lr\n")
    graph = build(project_copy)
    mismatches = {issue.subject: issue for issue in issues(graph, "lock-mismatch")}
    assert sorted(mismatches) == ["featurize", "prepare", "train"]
    yaml_line = line_of(project_copy, "dvc.yaml", "  prepare:")
    lock_line = line_of(project_copy, "dvc.lock", "  prepare:")
    assert mismatches["prepare"].evidence == (
        Evidence(
            "cmd in dvc.yaml",
            "python steps.py upper raw.txt data/clean.txt --fast",
            f"dvc.yaml:{yaml_line}",
        ),
        Evidence(
            "cmd in dvc.lock",
            "python steps.py upper raw.txt data/clean.txt",
            f"dvc.lock:{lock_line}",
        ),
    )
    assert "(dep)" in mismatches["featurize"].message
    assert [e.value for e in mismatches["featurize"].evidence] == ["steps.py"]
    assert [(e.label, e.value) for e in mismatches["train"].evidence] == [
        ("params only in dvc.yaml", "params.yaml:train.lr"),
        ("params only in dvc.lock", "params.yaml:train.seed"),
    ]


def test_params_changed_since_the_stage_ran(project_copy: Path) -> None:
    edit(project_copy / "params.yaml", "seed: 42", "seed: 43")
    graph = build(project_copy)
    [issue] = issues(graph, "params-changed")
    assert issue.subject == "train"
    lock_line = line_of(project_copy, "dvc.lock", "  train:")
    assert issue.evidence == (
        Evidence("params.yaml:train.seed in the lock", "42", f"dvc.lock:{lock_line}"),
        Evidence("params.yaml:train.seed now", "43", "params.yaml"),
    )


def test_dvc1_lock_is_read_as_dvc2_migrated_it(project_copy: Path, graph: ProvenanceGraph) -> None:
    lock = yaml.safe_load((project_copy / "dvc.lock").read_text())
    for entry in lock["stages"].values():
        for item in [*entry.get("deps", []), *entry.get("outs", [])]:
            item.pop("hash", None)
    (project_copy / "dvc.lock").write_text(yaml.safe_dump(lock["stages"]))
    old = build(project_copy)
    assert set(steps(old)) == set(steps(graph))
    digest = input_edge(old, "raw.txt", "prepare")["digest"]
    assert digest == {"md5-dos2unix": md5(project_copy / "raw.txt")}
    assert steps(old)["train"].params == steps(graph)["train"].params
    assert [issue.code for issue in old.issues] == ["not-in-lock"]


def test_two_stages_with_one_output_are_a_duplicate(blank: Path) -> None:
    stage = {"cmd": "echo", "outs": ["same.txt"]}
    (blank / "dvc.yaml").write_text(json.dumps({"stages": {"a": stage, "b": stage}}))
    (blank / "same.txt.dvc").write_text("outs:\n- md5: " + "e" * 32 + "\n  path: same.txt\n")
    [issue] = issues(build(blank), "duplicate-output")
    assert issue.subject == "same.txt"
    assert [e.label for e in issue.evidence] == [
        "stage `a`",
        "stage `b`",
        "DVC file `same.txt.dvc`",
    ]


# -- several projects ---------------------------------------------------------------


def test_projects_of_one_git_repository_are_named_from_its_root(monorepo: Path) -> None:
    graph = build(monorepo)
    assert set(steps(graph)) == {
        "ml/a/dvc.yaml:train",
        "ml/a/sub/dvc.yaml:x",
        "ml/b/dvc.yaml:train",
    }
    step = "ml/a/dvc.yaml:train"
    assert steps(graph)[step].source == SourceRef("ml/a/dvc.yaml", 2, "dvc.yaml stage")
    out = output_edge(graph, step, "ml/a/out.txt")
    assert out["digest"] == {"md5": md5(monorepo / "ml/a/out.txt")}
    assert out["source"] == SourceRef("ml/a/dvc.lock", 3, "stage `train` out")
    assert input_edge(graph, "ml/a/sub/in.txt", "ml/a/sub/dvc.yaml:x")["digest"] == {}
    assert input_edge(graph, "ml/b/in.txt", "ml/b/dvc.yaml:train")["digest"] == {}
    found = sorted((issue.code, issue.subject) for issue in graph.issues)
    assert found == [
        ("not-in-lock", "ml/a/sub/dvc.yaml:x"),
        ("not-in-lock", "ml/b/dvc.yaml:train"),
        ("orphan-pipeline", "docs/dvc.yaml"),
    ]


def test_root_project_and_a_nested_project(template: Path, blank: Path) -> None:
    shutil.copytree(template, blank / "nested", symlinks=True)
    for folder in (blank, blank / "nested"):
        (folder / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo\n    outs: [o.txt]\n")
    graph = build(blank)
    assert set(steps(graph)) == {"s", "nested/dvc.yaml:s"}
    assert {a.path for a in graph.artifacts()} == {"o.txt", "nested/o.txt"}


def test_search_skips_hidden_folders_and_outputs_and_is_bounded(tmp_path: Path) -> None:
    for folder in ("a", "a/data/inner", ".git/x", "node_modules/m", "b/c", "deep/1/2/3"):
        (tmp_path / folder / ".dvc").mkdir(parents=True)
    search = ProjectSearch(tmp_path)
    found = []
    for folder in search:
        found.append(folder)
        search.prune(["a/data"] if folder == "a" else [])
    assert found == ["a", "b/c", "deep/1/2/3"]
    assert search.issues == []
    shallow = ProjectSearch(tmp_path, max_depth=3)
    assert list(shallow) == ["a", "a/data/inner", "b/c"]
    assert [(i.code, i.subject) for i in shallow.issues] == [("search-bounded", "deep/1/2")]
    small = ProjectSearch(tmp_path, max_folders=3)
    assert list(small) == ["a"]
    assert "more than 3 folders" in small.issues[0].message


def test_search_counts_folders_listed_by_a_project_walk_without_listing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("p/.dvc", "p/x", "p/y/z", "q"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "q" / "dvc.yaml").write_text("stages: {}\n")  # an orphan, never skipped
    listed: list[str] = []
    original = ProjectSearch._list

    def recorded(self: ProjectSearch, folder: str) -> tuple[list[str], list[str], bool]:
        listed.append(folder)
        return original(self, folder)

    monkeypatch.setattr(ProjectSearch, "_list", recorded)
    search = ProjectSearch(tmp_path)
    for _ in search:
        search.listed(["p/x", "p/y/z", "q"])
    assert listed == [".", "p", "p/y", "q"]
    assert [issue.code for issue in search.issues] == ["orphan-pipeline"]
    small = ProjectSearch(tmp_path, max_folders=4)
    for _ in small:
        small.listed(["p/x", "p/y/z"])
    assert "more than 4 folders" in small.issues[0].message  # skipped folders still count


def _nested_projects_repo(root: Path) -> None:
    """Nested projects, or what looks like them, in and beside output folders."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".dvc").mkdir()
    outs = [f"out/{i}/f.bin" for i in range(4)] + ["dirout", "leaf/x.bin"]
    stages = {"s": {"cmd": "echo", "outs": outs}}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    for out in [*outs[:4], "leaf/x.bin", "other/only.txt", "link/target/t.txt"]:
        (root / out).parent.mkdir(parents=True, exist_ok=True)
        (root / out).write_text("x")
    (root / "out/1/.dvc").mkdir()  # a nested project inside an output's folder
    (root / "out/2/.dvc").write_text("not a folder")
    (root / "dirout/sub/.dvc").mkdir(parents=True)  # inside a directory output: pruned
    (root / "out/3/.dvc").symlink_to(root / "link/target")  # a symlink is no project
    (root / "other/deep/.dvc").mkdir(parents=True)
    (root / "other/deep/dvc.yaml").write_text(yaml.safe_dump({"stages": {"t": {"cmd": "e"}}}))
    (root / ".dvcignore").write_text("ignored\n")
    (root / "ignored/n/.dvc").mkdir(parents=True)  # DVC's walk does not enter it; the search does


def test_build_finds_the_projects_a_full_listing_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _nested_projects_repo(tmp_path)
    found: list[str] = []
    original = ProjectSearch.__iter__

    def recorded(self: ProjectSearch) -> Iterator[str]:
        for folder in original(self):
            found.append(folder)
            yield folder

    monkeypatch.setattr(ProjectSearch, "__iter__", recorded)
    fast = build(tmp_path)
    fast_found, found[:] = list(found), []
    monkeypatch.setattr(ProjectSearch, "listed", lambda self, folders: None)
    full = build(tmp_path)
    assert fast_found == found == [".", "ignored/n", "other/deep", "out/1"]
    assert sorted(map(repr, fast.issues)) == sorted(map(repr, full.issues))
    assert set(steps(fast)) == set(steps(full))
