"""DVC's own file classes, reading their YAML through :mod:`.yamlload` (parsed once, by libyaml).

``ProjectFile`` (``dvc.yaml``), its ``Lockfile`` and ``SingleStageFile`` (``.dvc``)
are DVC's, untouched but for where their text becomes data: DVC's checks of the
file (exists, name, regular file, not git-ignored), its schema validation (with
its own errors), its resolver (``vars``, ``foreach``, ``matrix``,
interpolation), its lock schema and its stage loader all run as in DVC. Data
:mod:`.yamlload` leaves to DVC is parsed by DVC's own parser. The lines of the
keys come from the same parse, into the :class:`LineIndex` given.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.lines import LineIndex
from policy_engine.graph.builders.dvc.yamlload import parse
from policy_engine.inputs import read_text

if TYPE_CHECKING:
    from dvc.dvcfile import ProjectFile, SingleStageFile
    from dvc.repo import Repo


def load_file(repo: Repo, path: str, lines: LineIndex | None = None) -> Any:
    """DVC's ``load_file``: a ``ProjectFile`` for ``.yaml``/``.yml``, else a ``SingleStageFile``."""
    project, _, single = _classes()
    if os.path.splitext(path)[1] in (".yaml", ".yml"):
        return project(repo, path, lines=lines)
    return single(repo, path, lines=lines)


@functools.cache
def _classes() -> tuple[type[ProjectFile], type[Any], type[SingleStageFile]]:
    from dvc.dvcfile import Lockfile, ProjectFile, SingleStageFile
    from dvc.utils.strictyaml import make_relpath, validate

    class ParsedOnce:
        """DVC's file class, its YAML parsed by :func:`.yamlload.parse` when it can."""

        def __init__(self, repo: Repo, path: str, *, lines: LineIndex | None = None) -> None:
            super().__init__(repo, path)  # type: ignore[call-arg]  # DVC's FileMixin
            self.lines = lines

        def _load_yaml(self, **kwargs: Any) -> tuple[Any, str]:
            parsed = None if kwargs else _parsed(self)
            if parsed is None:
                loaded: tuple[Any, str] = super()._load_yaml(**kwargs)  # type: ignore[misc]
                return loaded
            if self.lines is not None:
                self.lines.remember(self.path, parsed.lines)  # type: ignore[attr-defined]
            fs = self.repo.fs  # type: ignore[attr-defined]
            relpath = make_relpath(self.path, fs)  # type: ignore[attr-defined]
            rev = getattr(fs, "rev", None)
            validate(parsed.data, self.SCHEMA, text=parsed.text, path=relpath, rev=rev)  # type: ignore[attr-defined]
            return parsed.data, parsed.text

    class ParsedLockfile(ParsedOnce, Lockfile):  # type: ignore[misc]  # dvc ships no types
        pass

    class ParsedProjectFile(ParsedOnce, ProjectFile):  # type: ignore[misc]
        @property
        def _lockfile(self) -> Any:
            lock = os.path.splitext(self.path)[0] + ".lock"
            return ParsedLockfile(self.repo, lock, lines=self.lines)

    class ParsedSingleStageFile(ParsedOnce, SingleStageFile):  # type: ignore[misc]
        pass

    return ParsedProjectFile, ParsedLockfile, ParsedSingleStageFile


def _parsed(file: Any) -> Any:
    """The :class:`.yamlload.Parsed` text of ``file``; None: DVC's parser reads it."""
    root = file.repo.root_dir
    try:
        text = read_text(file.path, os.path.relpath(file.path, root), roots=(root,))
    except InputError as exc:
        if exc.message.startswith(("file not found", "file is not UTF-8")):
            return None  # DVC's own reading raises its error
        raise
    return parse(text)
