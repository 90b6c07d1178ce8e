"""Git, read-only: where a folder sits in its repository, revisions, and throwaway worktrees.

Every command runs with hooks disabled (``core.hooksPath`` points nowhere), so no
script of the repository runs, and with ``--no-optional-locks`` where git would
otherwise refresh the index. The only thing written in the user's repository is
git's own bookkeeping of a temporary worktree (``.git/worktrees/<name>``), which
:func:`worktree` removes again, even when the body raises.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from policy_engine.errors import InputError

# Variables that would point git at another repository, index or work tree than the
# folder named: set when mlpolicy runs inside a git hook (pre-commit sets GIT_INDEX_FILE).
_LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_IMPLICIT_WORK_TREE",
)
_SAFE_OPTIONS = ("-c", f"core.hooksPath={os.devnull}", "-c", "core.fsmonitor=false")


@dataclass(frozen=True)
class Checkout:
    """A folder inside a git work tree: the work tree's top level and the folder's path in it."""

    top: Path  # absolute, as git prints it
    prefix: PurePosixPath  # the folder relative to ``top`` ("." for the top itself)

    def locate(self, tree: Path) -> Path:
        """The same folder inside another work tree of the repository (e.g. a worktree)."""
        return tree / self.prefix if str(self.prefix) != "." else tree


def git(cwd: Path, *args: str) -> str:
    """Run ``git ARGS`` in ``cwd``; its standard output, stripped. A failure is an InputError."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        done = subprocess.run(
            ["git", *_SAFE_OPTIONS, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as error:
        raise InputError("`git` was not found on PATH") from error
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise InputError(f"`git {' '.join(args)}` failed: {detail[-1] if detail else 'no output'}")
    return done.stdout.strip()


def checkout_of(folder: Path) -> Checkout:
    """Where ``folder`` sits in its git work tree; an InputError when it is in none."""
    if not folder.is_dir():
        raise InputError("repository folder not found", str(folder))
    try:
        top = git(folder, "rev-parse", "--show-toplevel")
        prefix = git(folder, "rev-parse", "--show-prefix")
    except InputError as error:
        raise InputError(
            "not inside a git repository: `diff` compares git revisions", str(folder)
        ) from error
    if not top:
        raise InputError("not inside a git work tree (a bare repository?)", str(folder))
    return Checkout(Path(top), PurePosixPath(prefix.rstrip("/") or "."))


def resolve_commit(top: Path, ref: str) -> str:
    """The commit id ``ref`` names; an InputError naming the ref when there is none."""
    if not ref or ref.startswith("-"):
        raise InputError(f"`{ref}` is not a git revision")
    try:
        return git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except InputError:
        raise InputError(
            f"`{ref}` is not a commit of this repository (in a shallow CI checkout, "
            "fetch it first, e.g. `git fetch --depth=1 origin <branch>`)"
        ) from None


def head_commit(top: Path) -> str | None:
    """The commit checked out in the work tree, or None in a repository without commits."""
    try:
        return git(top, "rev-parse", "--verify", "--quiet", "HEAD")
    except InputError:
        return None


def is_dirty(checkout: Checkout) -> bool:
    """Whether the folder has uncommitted changes or untracked files (ignored files aside)."""
    status = git(
        checkout.top,
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=normal",
        "--",
        str(checkout.prefix),
    )
    return bool(status)


def tracked_files(folder: Path) -> frozenset[str]:
    """The files git tracks under ``folder``, as posix paths relative to it."""
    listed = git(folder, "--no-optional-locks", "ls-files", "-z", "--", ".")
    return frozenset(name for name in listed.split("\0") if name)


@contextmanager
def worktree(top: Path, commit: str) -> Iterator[Path]:
    """A detached checkout of ``commit`` in a temporary folder outside the repository.

    Removed on exit, whatever happens: ``git worktree remove --force``, then the
    folder itself, then ``git worktree prune`` for git's bookkeeping.
    """
    scratch = Path(tempfile.mkdtemp(prefix="mlpolicy-diff-"))
    tree = scratch / "tree"
    with _terminate_as_exit():
        try:
            git(top, "worktree", "add", "--detach", "--quiet", str(tree), commit)
            yield tree
        finally:
            _remove_worktree(top, tree, scratch)


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM (a cancelled CI job) into SystemExit, so that ``finally`` blocks run.

    Only where Python's default handler is in place, and only in the main thread.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _remove_worktree(top: Path, tree: Path, scratch: Path) -> None:
    with suppress(InputError):  # if git cannot, the folder goes by hand and prune forgets it
        if tree.exists():
            git(top, "worktree", "remove", "--force", str(tree))
    shutil.rmtree(scratch, ignore_errors=True)
    with suppress(InputError):
        git(top, "worktree", "prune")
