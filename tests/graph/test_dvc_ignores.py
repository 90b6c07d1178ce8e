"""``OutputIgnores`` answers as DVC's ``is_ignored`` on generated ``.dvcignore`` files and trees.

Patterns are drawn from what gitignore syntax offers (globs, ``**``, anchored
``/`` patterns, folder-only ``name/``, negations ``!``, escapes), in the
repository's ``.dvcignore`` and in a subfolder's; paths are files, folders and
paths with nothing on disk, at several depths. A third ``.dvcignore`` sits two
levels down, and names carry the characters patterns give a meaning to (spaces,
``[``, ``*``, ``?``, ``!``, ``#``, ``\\``) and non-ASCII ones.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.dvc.ignores import OutputIgnores, _matchers, _unmatched
from policy_engine.graph.builders.dvc.repo import open_read_only

NAMES = [
    "a", "b", "x.tmp", "keep.tmp", "log", ".git", ".hg", "data.csv", "deep",
    "a b", "[x]", "q?", "x*", "!n", "#h", "back\\slash", "été",
]  # fmt: skip
PATTERNS = st.sampled_from(
    [
        "*.tmp", "!keep.tmp", "a/", "/a", "b", "!b", "log/", "!log/", "**/deep", "a/**",
        "a/*.csv", "!a/data.csv", "/b/", "*", "!*.csv", "\\!b", "deep/x.tmp", ".git", "#c",
        "/a/deep/", "a/**/x.tmp", "**/log/", "deep/**", "*/log", "[x]", "\\[x\\]", "a b",
        "!a b", "é*", "\\#h", "x\\*", "\\!n", "q?", "!deep/", "a/b/", "**",
    ]
)  # fmt: skip
PATHS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map("/".join)


def build(
    root: Path, top: list[str], sub: list[str], files: list[str], dirs: list[str], deep: list[str]
) -> None:
    from dvc.repo import Repo

    Repo.init(os.fspath(root), no_scm=True).close()
    (root / ".dvcignore").write_text("\n".join(top) + "\n")
    for folder in dirs:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in files:
        if not (root / name).exists():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            if not (root / name).parent.is_file():
                (root / name).write_text("")
    for folder, patterns in (("a", sub), ("a/deep", deep)):
        if not (root / folder).is_file() and not (root / folder).parent.is_file():
            (root / folder).mkdir(exist_ok=True)
            (root / folder / ".dvcignore").write_text("\n".join(patterns) + "\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    top=st.lists(PATTERNS, max_size=5),
    sub=st.lists(PATTERNS, max_size=3),
    deep=st.lists(PATTERNS, max_size=3),
    files=st.lists(PATHS, max_size=6),
    dirs=st.lists(PATHS, max_size=4),
    asked=st.lists(PATHS, min_size=1, max_size=12),
)
def test_same_answer_as_dvc(
    top: list[str],
    sub: list[str],
    files: list[str],
    dirs: list[str],
    deep: list[str],
    asked: list[str],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        try:
            build(root, top, sub, files, dirs, deep)
        except OSError:
            return  # a file where the tree needs a folder: no such tree
        with open_read_only(root) as repo:
            ignores, fresh = OutputIgnores(repo), OutputIgnores(repo)  # fresh: normal paths only
            extra = [".", "a/.dvcignore", "a/deep/.dvcignore", "../out", "a/deep/log/x.tmp"]
            for name in [*asked, *files, *dirs, *extra] * 2:
                path = os.path.join(repo.root_dir, name)
                expected = repo.dvcignore.is_ignored(repo.fs, path, ignore_subrepos=False)
                assert ignores(path) == expected, (name, top, sub, deep)
                assert fresh.normal(os.path.abspath(path)) == expected, (name, top, sub, deep)


CASES = {  # .dvcignore files, paths on disk (folders end with /), paths asked
    "negated inside an ignored folder": (
        {".dvcignore": "log/\n!log/keep.tmp\n!log/in/\n"},
        ["log/keep.tmp", "log/in/x", "log2/keep.tmp"],
        ["log/keep.tmp", "log/in/x", "log/in", "log2/keep.tmp", "log"],
    ),
    "nested files, anchored and dir-only": (
        {
            ".dvcignore": "/top\n*.bin\n",
            "a/.dvcignore": "/x/\n!keep.bin\n",
            "a/x/.dvcignore": "z\n",
        },
        ["top/f", "a/top/f", "a/x/f", "a/keep.bin", "a/y/keep.bin", "a/x/y/z", "a/q/x/f"],
        ["top/f", "a/top/f", "a/x/f", "a/x", "a/keep.bin", "a/y/keep.bin", "a/x/y/z", "a/q/x/f"],
    ),
    "double stars and special names": (
        {".dvcignore": "**/deep/**\n!**/deep/**/ok\n\\[x\\]\nsp ace/\n\\#h\n"},
        ["deep/ok", "a/deep/b/ok", "a/deep/b/no", "[x]/f", "sp ace/f", "#h/f", "été/[x]"],
        ["deep/ok", "a/deep/b/ok", "a/deep/b/no", "[x]/f", "sp ace/f", "#h/f", "été/[x]", "x"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_answer_as_dvc_on_chosen_trees(tmp_path: Path, case: str) -> None:
    from dvc.repo import Repo

    ignore_files, present, asked = CASES[case]
    Repo.init(os.fspath(tmp_path), no_scm=True).close()
    for name in present:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    for name, text in ignore_files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with open_read_only(tmp_path) as repo:
        ignores = OutputIgnores(repo)
        answers = []
        for name in asked * 2:
            path = os.path.join(repo.root_dir, name)
            expected = repo.dvcignore.is_ignored(repo.fs, path, ignore_subrepos=False)
            assert ignores(path) == expected, name
            answers.append(expected)
    assert True in answers and False in answers  # the cases are not all one answer


class _Spec:
    """A stand-in for DVC's patterns: only its ``ignore_spec``."""

    def __init__(self, *rules: dict[str | None, tuple[str, object]]) -> None:
        self.ignore_spec = [
            (re.compile("|".join(r for r, _ in m.values())), True, False, m) for m in rules
        ]


def test_rules_joined_match_as_any_of_them() -> None:
    from dvc.ignore import DvcIgnorePatterns

    lines = [
        "*.tmp",
        "!keep.tmp",
        "a/",
        "/b",
        "**/deep/**",
        "!deep/ok",
        "x\\*",
        "[x]",
        "q?",
        "(?P<rule_0>y",
        "<ps_d>",
    ]
    pattern = DvcIgnorePatterns(lines, "/r", "/")
    (joined,) = _matchers(pattern)
    each = [regex.match for regex, *_ in pattern.ignore_spec]
    names = [
        "a",
        "a/",
        "x.tmp",
        "keep.tmp",
        "b",
        "b/",
        "c/b",
        "deep/ok",
        "d/deep/x",
        "x*",
        "x",
        "q1",
    ]
    for name in names + [f"{n}/z" for n in names]:
        assert bool(joined(name)) == any(match(name) for match in each), name


def test_rules_that_cannot_be_joined_are_tried_one_by_one() -> None:
    twice = _Spec({"rule_0": ("(?P<g>a)", None)}, {None: ("(?P<g>b)", None)})
    assert [m("b") is not None for m in _matchers(twice)] == [False, True]
    assert _matchers(_Spec()) == ()  # no rule: nothing matches (an empty regex would)
    assert _unmatched(_matchers(_Spec()), "anything")
