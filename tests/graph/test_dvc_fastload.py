"""Stage records built from DVC's resolved data equal those read off DVC's own Stage objects.

Generated projects use what pipelines use (``foreach`` over lists and dicts,
``matrix``, vars files, ``wdir``, params with keys, whole params files,
outputs with flags, metrics and plots, annotations, ``frozen``, ``desc``,
``meta``, DVC 2 lock entries, stages missing from the lock) and what the fast
path leaves to DVC (URLs, paths leaving the project, DVC files as outputs,
ignored outputs, lock items with cloud versions): each stage's record must
equal the one from DVC's own load, and the exotic ones must have come from
DVC's objects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc import fastload
from policy_engine.graph.builders.dvc.dvcfiles import fast_schema
from policy_engine.graph.builders.dvc.repo import open_read_only
from tests.graph.dvc_equality import both_records

PIPELINE: dict[str, Any] = {
    "vars": ["config.yaml", {"inline": {"n": 3, "names": ["p", "q"]}}],
    "stages": {
        "prepare": {
            "cmd": ["python prep.py ${inline.n}", "echo done"],
            "deps": ["prep.py", "data/raw.csv", "data/raw.csv"],
            "params": ["train.seed", {"config.yaml": ["model.depth"]}, {"whole.yaml": None}],
            "outs": [
                "data/prepared.csv",
                {"data/off.csv": {"cache": False, "persist": True, "remote": "r", "push": False}},
                {
                    "models/m.pkl": {
                        "desc": "model",
                        "type": "model",
                        "labels": ["a"],
                        "meta": {"k": 1},
                    }
                },
            ],
            "metrics": [{"metrics/m.json": {"cache": False}}],
            "plots": [{"plots/p.csv": {"x": "step", "y": "acc"}}, "plots/q.csv"],
            "desc": "prepare the data",
            "meta": {"owner": "team"},
            "frozen": True,
        },
        "each": {
            "foreach": "${inline.names}",
            "do": {"cmd": "echo ${item}", "deps": ["data/prepared.csv"], "outs": ["e/${item}.txt"]},
        },
        "bydict": {
            "foreach": {"x": {"lr": 0.1}, "y": {"lr": 0.01}},
            "do": {"cmd": "echo ${key} ${item.lr}", "outs": ["d/${key}.txt"]},
        },
        "grid": {
            "matrix": {"opt": ["sgd", "adam"], "depth": "${model.depths}"},
            "cmd": "echo ${item.opt} ${item.depth}",
            "params": [{"config.yaml": []}],
            "outs": ["g/${item.opt}-${item.depth}.bin"],
        },
        "sub": {
            "wdir": "sub",
            "cmd": "make",
            "deps": ["../data/prepared.csv", "tool.sh"],
            "params": [{"../config.yaml": ["model.depth"]}],
            "outs": ["out.bin", {"dir": {"cache": True}}],
        },
        "never": {"cmd": "echo never", "deps": ["data/raw.csv"], "outs": ["never.txt"]},
    },
}
EXOTIC: dict[str, Any] = {
    "url": {"cmd": "get", "deps": ["https://example.com/data.csv"], "outs": ["u.csv"]},
    "outside": {"cmd": "up", "deps": ["../../elsewhere.csv"], "outs": ["o.csv"]},
    "absolute": {"cmd": "abs", "deps": ["/etc/hostname"], "outs": ["a.csv"]},
    "near": {  # names ending as DVC files do, which DVC takes as plain paths (the fast path)
        "cmd": "near",
        "deps": ["mydvc.yaml", "x.dvc.txt", "sub/../back.dvcx"],
        "outs": ["sub/olddvc.yaml", "n/.dvc.yaml", "dvc.yaml.d/o", "n/./m/../near.csv"],
    },
}
LOCK_OVERRIDES = {  # entries rewritten after DVC wrote the lock
    "bydict@x": {"outs": [{"path": "d/x.txt", "md5": "0" * 32, "size": 1}]},  # DVC 2: no hash
    "grid@sgd-1": {
        "outs": [
            {
                "path": "g/sgd-1.bin",
                "hash": "md5",
                "files": [{"relpath": "a", "md5": "1" * 32, "size": 1}],
            }
        ]
    },
}


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def generated_project(root: Path) -> Path:
    """The pipeline above with a lock DVC wrote, some entries then rewritten, ``never`` removed."""
    from dvc.dvcfile import ProjectFile
    from dvc.repo import Repo

    Repo.init(os.fspath(root), no_scm=True).close()
    write(root, "dvc.yaml", yaml.safe_dump({**PIPELINE}, sort_keys=False))
    write(root, "params.yaml", "train:\n  seed: 7\n")
    write(root, "config.yaml", "model:\n  depth: 2\n  depths: [1, 2]\n")
    write(root, "whole.yaml", "a: 1\nb: {c: 2}\n")
    for name in ("prep.py", "data/raw.csv", "sub/tool.sh"):
        write(root, name, name)
    with Repo(os.fspath(root)) as repo:
        stages = [stage for stage in repo.index.stages if stage.name != "never"]
        for stage in stages:
            for out in stage.outs:
                if out.def_path == "dir":
                    write(Path(out.fs_path), "f", "in a directory")
                else:
                    write(Path(out.fs_path).parent, Path(out.fs_path).name, stage.name)
        for stage in stages:
            stage.save(run_cache=False)
        ProjectFile(repo, os.fspath(root / "dvc.yaml")).dump_stages(stages, update_pipeline=False)
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    for name, entry in LOCK_OVERRIDES.items():
        lock["stages"][name].update(entry)
    (root / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_project(tmp_path_factory.mktemp("fastload") / "repo")


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the stages the fast path left to DVC's objects."""
    seen: list[str] = []
    original = fastload.from_stage

    def spy(stage: Any, keep: bool = False) -> Any:
        seen.append(stage.name)
        return original(stage, keep)

    monkeypatch.setattr(fastload, "from_stage", spy)
    return seen


def compare(root: Path, name: str = "dvc.yaml") -> list[Any]:
    with open_read_only(root) as repo:
        theirs, ours = both_records(repo, root / name, root)
    assert not isinstance(theirs, tuple), theirs
    assert ours == theirs
    return list(ours)


def test_generated_project_records_equal_dvcs(project: Path, fallbacks: list[str]) -> None:
    records = compare(project)
    assert len(records) == 11  # prepare, each x2, bydict x2, grid x4, sub, never
    assert fallbacks == ["grid@sgd-1"]  # a file list in the lock
    by_name = {record.name: record for record in records}
    assert by_name["bydict@x"].outs[0].digest == {"md5-dos2unix": "0" * 32}
    assert by_name["never"].outs[0].digest == {}
    assert by_name["sub"].outs[1].isdir
    assert [p.keys for p in by_name["prepare"].params] == [("train.seed",), ("model.depth",), ()]
    assert by_name["prepare"].params[2].values == {"a": 1, "b": {"c": 2}}


def test_exotic_stages_are_left_to_dvc(tmp_path: Path, fallbacks: list[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    generated_project(root)
    pipeline = yaml.safe_load((root / "dvc.yaml").read_text())
    pipeline["stages"].update(EXOTIC)
    (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    records = compare(root)
    assert {"url", "outside", "absolute"} <= set(fallbacks)
    assert "near" not in fallbacks
    by_name = {record.name: record for record in records}
    assert not by_name["url"].deps[0].local


INT_DIGEST = (
    "schema: '2.0'\nstages:\n  a:\n    cmd: x\n    outs:\n    - path: o\n      md5: 12345\n"
)
REFUSED = {
    "dvc-file-out": ({"cmd": "x", "outs": ["sub/dvc.yaml"]}, {}),
    "dvc-file-dep": ({"cmd": "x", "deps": ["data.dvc"]}, {}),
    "ignored-out": ({"cmd": "x", "outs": ["skip/me.txt"]}, {".dvcignore": "skip/\n"}),
    "a": ({"cmd": "x", "outs": ["o"]}, {"dvc.lock": INT_DIGEST}),  # DVC fails on an int digest
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_stages_dvc_refuses_fail_as_dvc_fails(tmp_path: Path, name: str) -> None:
    from dvc.repo import Repo

    stage, files = REFUSED[name]
    Repo.init(os.fspath(tmp_path), no_scm=True).close()
    write(tmp_path, "dvc.yaml", yaml.safe_dump({"stages": {name: stage}}))
    for file, text in files.items():
        write(tmp_path, file, text)
    with open_read_only(tmp_path) as repo:
        theirs, ours = both_records(repo, tmp_path / "dvc.yaml", tmp_path)
    assert isinstance(theirs, tuple), "DVC refuses the stage"
    assert ours == theirs


def test_dvc_files_with_imports_keep_dvcs_objects(tmp_path: Path) -> None:
    from dvc.repo import Repo

    Repo.init(os.fspath(tmp_path), no_scm=True).close()
    write(
        tmp_path,
        "data.csv.dvc",
        "md5: 0123456789abcdef0123456789abcdef\nfrozen: true\ndeps:\n"
        "- path: data.csv\n  repo:\n    url: https://example.com/r.git\n    rev_lock: abc\n"
        "outs:\n- {md5: 60b725f10c9c85c70d97880dfe8191b3, size: 2, hash: md5, path: data.csv}\n",
    )
    records = compare(tmp_path, "data.csv.dvc")
    assert records[0].stage is not None  # DVC's Stage, for its origin and checksum
    assert records[0].outs[0].digest == {"md5": "60b725f10c9c85c70d97880dfe8191b3"}


SCHEMA_CASES = [
    {"stages": {"a": {"cmd": "x", "outs": ["o"]}, "b": {"foreach": [1], "do": {"cmd": "y"}}}},
    {"stages": {"a": {"command": "x"}}},
    {"stages": {"a": {"foreach": [1]}}},
    {"stages": {"a": {"do": {"cmd": 1}}}},
    {"stages": {"a": {"cmd": "x", "matrix": {"k": 3}}}},
    {"stages": {"a": "text"}},
    {"stages": {"a": {"cmd": "x", "outs": [{"o": {"cache": "no"}}]}}},
    {"vars": [3], "stages": {}},
]


@pytest.mark.parametrize("data", SCHEMA_CASES)
def test_dvc_yaml_schema_compiled_once_gives_dvcs_answer(data: dict[str, Any]) -> None:
    from dvc.schema import COMPILED_MULTI_STAGE_SCHEMA
    from voluptuous import MultipleInvalid

    def outcome(schema: Any) -> Any:
        try:
            return schema(data)
        except MultipleInvalid as exc:
            return sorted(str(error) for error in exc.errors)

    assert outcome(fast_schema(COMPILED_MULTI_STAGE_SCHEMA)) == outcome(COMPILED_MULTI_STAGE_SCHEMA)


IGNORED_TREE = {
    ".dvcignore": "*.tmp\nskip/\n/top-only\n!keep.tmp\n",
    "a/.dvcignore": "local\n*.log\n!important.log\n",
    "a/x.tmp": "",
    "a/keep.tmp": "",
    "a/local/f": "",
    "a/b.log": "",
    "a/important.log": "",
    "skip/f": "",
    "top-only": "",
    "a/top-only": "",
    "plain/f": "",
}
PATHS = [
    *IGNORED_TREE,
    "a",
    "a/local",
    "skip",
    "plain",
    "missing/y.tmp",
    "missing/skip",
    "a/missing.log",
    "a/deep/er/local",
    ".git/x",
    ".dvc/x",
    ".",
    "../outside",
]


def test_output_ignores_answer_as_dvcignore_does(tmp_path: Path) -> None:
    from dvc.repo import Repo

    from policy_engine.graph.builders.dvc.ignores import OutputIgnores

    Repo.init(os.fspath(tmp_path), no_scm=True).close()
    for name, text in IGNORED_TREE.items():
        write(tmp_path, name, text)
    with open_read_only(tmp_path) as repo:
        ignores = OutputIgnores(repo)
        for name in PATHS * 2:  # the second time, from the folders' patterns kept
            path = os.path.join(repo.root_dir, name)
            expected = repo.dvcignore.is_ignored(repo.fs, path, ignore_subrepos=False)
            assert ignores(path) == expected, name
    assert ignores(os.path.join(repo.root_dir, "a/x.tmp"))  # the cases are not all "no"


_PARTS = ["a", "b.bin", ".", "..", "", ".h", "..x", "x.", "...", " ", "é", "a\\b", "~"]


@given(
    st.lists(st.sampled_from(_PARTS), min_size=1, max_size=6),
    st.sampled_from(["/", "/r", "/r/w", "/r/.x", "/r/a b"]),
)
def test_joined_is_normpath_of_join(parts: list[str], wdir: str) -> None:
    path = "/".join(parts)
    if path and not os.path.isabs(path):
        assert fastload.joined(wdir, path) == os.path.normpath(os.path.join(wdir, path))


@pytest.mark.parametrize(
    "path",
    [
        "out/s1/0.bin",
        "a//b",
        "a/./b",
        "./a",
        "a/",
        "a/..",
        "../a",
        "a/../../b",
        ".",
        "..",
        "a/.b",
        "a.b/c",
        "x/...",
        "a\\..\\b",
        "é/ü",
    ],
)
def test_joined_of_hostile_paths(path: str) -> None:
    for wdir in ("/", "/repo", "/repo/sub"):
        assert fastload.joined(wdir, path) == os.path.normpath(os.path.join(wdir, path))
