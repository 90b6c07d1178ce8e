"""A policy's key, CA and trusted-root files are read only from inside the repository.

A pull request controls the policy: a key it names outside the repository (`..`, an
absolute path, a symlink leaving it) or a file that is no regular file is a located
E105, and nothing outside is opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from policy_engine.compiler import compile_modules
from policy_engine.language import parse_text


def compile_key(root: Path, written: str) -> list[tuple[str, str]]:
    text = f'key k from "{written}"\nrole r = k\n'
    parsed = parse_text(text, "p.policy")
    assert parsed.diagnostics == ()
    result = compile_modules([parsed.module], root)
    return [(d.code, d.message) for d in result.diagnostics if d.code == "E105"]


@pytest.fixture
def repo(tmp_path: Path, key_dir: Callable[[Path], Path]) -> Path:
    outside = tmp_path / "outside"
    key_dir(outside)  # a valid key, outside the repository
    root = tmp_path / "repo"
    key_dir(root)
    return root


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("../outside/keys/alice.pub", "leaves the repository (`..`)"),
        ("keys/../../outside/keys/alice.pub", "leaves the repository (`..`)"),
        ("/etc/passwd", "must be relative to the repository"),
    ],
)
def test_a_key_path_leaving_the_repository_is_refused(
    repo: Path, written: str, reason: str
) -> None:
    written = written.replace("/etc/passwd", str(repo.parent / "outside/keys/alice.pub"))
    ((code, message),) = compile_key(repo, written)
    assert code == "E105" and reason in message


def test_a_symlink_leaving_the_repository_is_refused(repo: Path) -> None:
    (repo / "keys" / "link.pub").symlink_to(repo.parent / "outside" / "keys" / "alice.pub")
    ((_, message),) = compile_key(repo, "keys/link.pub")
    assert "is a symlink leaving the repository" in message


def test_a_fifo_is_never_opened(repo: Path) -> None:
    os.mkfifo(repo / "keys" / "pipe.pub")
    ((_, message),) = compile_key(repo, "keys/pipe.pub")
    assert "is not a regular file" in message


def test_a_key_inside_the_repository_still_loads(repo: Path) -> None:
    assert compile_key(repo, "keys/alice.pub") == []
    (repo / "keys" / "inner.pub").symlink_to(repo / "keys" / "alice.pub")
    assert compile_key(repo, "keys/inner.pub") == []
