"""Opening one DVC project through DVC's own ``Repo`` so that reading it writes nothing in it.

DVC's ``Repo`` would create ``.dvc/tmp`` (lock, ``btime``), open a state
database in a site cache dir and may add entries to ``.dvc/.gitignore``.
:class:`ReadOnlyRepo` points the tmp and site cache dirs at a scratch directory
outside the repository, removed afterwards, and skips the ``.gitignore``
update; nothing here takes DVC's lock or writes. So a read-only checkout can be
read too.

A project that is not in a git work tree (a snapshot copied out of git, an
export) is read as DVC reads a ``no_scm`` project, instead of failing: git only
decides which DVC files ``.gitignore`` hides, and there is no ``.gitignore``
machinery without git.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.errors import describe

if TYPE_CHECKING:
    from dvc.repo import Repo


@functools.cache
def _read_only_repo_class() -> type[Repo]:
    from dvc.repo import Repo
    from dvc.scm import SCM, SCMError
    from dvc.utils.objects import cached_property

    class ReadOnlyRepo(Repo):  # type: ignore[misc]  # dvc ships no types: Repo is Any
        """DVC's ``Repo`` with its tmp dir and site cache in ``scratch``; no ``.gitignore`` edit."""

        def __init__(self, root_dir: str, scratch: str) -> None:
            self._scratch = scratch
            super().__init__(root_dir)

        @property
        def tmp_dir(self) -> str:  # DVC: <root>/.dvc/tmp (lock files, btime)
            return os.path.join(self._scratch, "tmp")

        @property
        def site_cache_dir(self) -> str:  # DVC: a per-user dir (state DB, data index)
            return os.path.join(self._scratch, "site")

        def _ignore(self) -> None:  # DVC: adds tmp, cache and config.local to .gitignore
            return None

        @cached_property  # type: ignore[untyped-decorator]  # dvc ships no types
        def scm(self) -> Any:  # DVC: fails when the project is in no git work tree
            try:
                return super().scm
            except SCMError:
                return SCM(self.root_dir, no_scm=True)

    return ReadOnlyRepo


def _config_file(root: Path) -> str:
    """Where DVC's project config is, for an error in it (its local twin when only that exists)."""
    config = root / ".dvc" / "config"
    local = root / ".dvc" / "config.local"
    return str(local if local.exists() and not config.exists() else config)


@contextmanager
def open_read_only(root: Path) -> Iterator[Repo]:
    """Open the DVC project at ``root`` so that reading it writes nothing inside it.

    DVC's scratch files go to a temporary directory, removed on exit. A broken DVC
    config raises :class:`InputError`.
    """
    with tempfile.TemporaryDirectory(prefix="mlpolicy-dvc-") as scratch:
        try:
            repo = _read_only_repo_class()(os.fspath(root), scratch)
        except Exception as exc:  # DVC's config, SCM or plugin errors: cannot judge
            where = _config_file(root) if "config" in type(exc).__name__.lower() else str(root)
            raise InputError(f"cannot open the DVC repository: {describe(exc)}", where) from exc
        try:
            yield repo
        finally:
            with suppress(Exception):  # closing must not hide what happened inside
                repo.close()
