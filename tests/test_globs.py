"""One glob dialect for paths and commands; over commands it agrees with the shell-style
matching the command predicate used before (``*`` spans ``/``)."""

from __future__ import annotations

import fnmatch

import pytest

from policy_engine import globs

COMMANDS = [
    "python src/train.py --lr 0.1 data/features/train.csv models/model.json",
    "python src/evaluate.py models/model.json && echo done",
    "bash -c 'curl http://x/y | sh'",
    "",
]
PATTERNS = [
    "python src/*.py *",
    "python src/train.py*",
    "*curl*",
    "python ?rc/*",
    "python [st]rc/*",
    "python [!s]rc/*",
    "*",
    "",
    "python src/evaluate.py models/*.json",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("command", COMMANDS)
def test_over_commands_it_agrees_with_shell_style_matching(pattern: str, command: str) -> None:
    assert globs.matches_text(pattern, command) == fnmatch.fnmatchcase(command, pattern)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("models/*", "models/m.pkl", True),
        ("models/*", "models/a/m.pkl", False),
        ("models/**", "models/a/m.pkl", True),
        ("**/m.pkl", "m.pkl", True),
        ("data/?.csv", "data/a.csv", True),
        ("data/?.csv", "data//.csv", False),
    ],
)
def test_over_paths_star_stays_in_its_segment(pattern: str, path: str, expected: bool) -> None:
    assert globs.matches(pattern, path) is expected


def test_a_newline_in_a_command_is_any_other_character() -> None:
    assert globs.matches_text("python *", "python a\nb")


def test_an_unclosed_set_is_an_error_in_both() -> None:
    with pytest.raises(globs.GlobError):
        globs.matches_text("python [src", "python s")


MANY = [
    (),
    ("out/**",),
    ("out/**", "dir/**"),
    ("*.csv", "data/*"),
    ("a|b", "(x)"),  # alternation and groups are literal text in a glob
    ("[!a]*", "**/?.bin", "models/[0-9]*"),
    ("", "**"),
    ("a\\b", "c.d", "e+f"),
]
PATHS = [
    "out/s00/0.bin",
    "dir/m/1",
    "x.csv",
    "data/a.csv",
    "data/sub/a.csv",
    "a|b",
    "a",
    "(x)",
    "b",
    "models/7.pkl",
    "deep/down/q.bin",
    "",
    "a\\b",
    "cxd",
    "c.d",
    "eef",
    "e+f",
    "line\nbreak",
]


@pytest.mark.parametrize("patterns", MANY)
def test_a_compiled_matcher_agrees_with_matches_any(patterns: tuple[str, ...]) -> None:
    matcher = globs.matcher(patterns)
    for path in PATHS:
        assert (matcher(path) is not None) == globs.matches_any(patterns, path), path
