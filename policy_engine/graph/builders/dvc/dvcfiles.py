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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.bounds import check_lock_entries
from policy_engine.graph.builders.dvc.lines import LineIndex
from policy_engine.graph.builders.dvc.yamlload import parse
from policy_engine.inputs import AliasBombError, read_text

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
    from dvc.utils.strictyaml import load, make_relpath, validate

    class ParsedOnce:
        """DVC's file class, its YAML parsed by :func:`.yamlload.parse` when it can."""

        def __init__(self, repo: Repo, path: str, *, lines: LineIndex | None = None) -> None:
            super().__init__(repo, path)  # type: ignore[call-arg]  # DVC's FileMixin
            self.lines = lines

        def _load_yaml(self, **kwargs: Any) -> tuple[Any, str]:
            if kwargs:  # DVC's round trip reading, for writing back: not ours
                loaded: tuple[Any, str] = super()._load_yaml(**kwargs)  # type: ignore[misc]
                return loaded
            parsed = _parsed(self)
            fs = self.repo.fs  # type: ignore[attr-defined]
            if parsed is None:  # DVC's own parser; DVC's load is this load, then validation
                data, text = load(self.path, None, fs)  # type: ignore[attr-defined]
            else:
                data, text = parsed.data, parsed.text
                if self.lines is not None:
                    self.lines.remember(self.path, parsed.lines)  # type: ignore[attr-defined]
            self.bound(data)
            relpath = make_relpath(self.path, fs)  # type: ignore[attr-defined]
            schema = fast_schema(self.SCHEMA)  # type: ignore[attr-defined]
            validate(data, schema, text=text, path=relpath, rev=getattr(fs, "rev", None))
            return data, text

        def bound(self, data: Any) -> None:
            """Refuse data over the bounds (:mod:`.bounds`) before DVC validates it."""

    class ParsedLockfile(ParsedOnce, Lockfile):  # type: ignore[misc]  # dvc ships no types
        def bound(self, data: Any) -> None:
            check_lock_entries(data, self.path)

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
    location = os.path.relpath(file.path, root)
    try:
        text = read_text(file.path, location, roots=(root,))
    except InputError as exc:
        if exc.message.startswith(("file not found", "file is not UTF-8")):
            return None  # DVC's own reading raises its error
        raise
    try:
        return parse(text)
    except AliasBombError as exc:  # located at this file (a lock's, not its pipeline's)
        raise InputError(f"invalid DVC file: {exc}", location) from None


def fast_schema(schema: Any) -> Any:
    """DVC's ``schema``; for ``dvc.yaml``, the same schema with its per-stage part compiled once;
    for ``dvc.lock``, the same schema with plain lock stages and items checked directly.

    DVC's ``dvc.yaml`` schema checks each stage with ``either_or``, which compiles
    a voluptuous schema (the stage's, or a ``foreach``'s) for every stage it
    checks: most of the validation's time. Here each is compiled once and
    chosen as ``either_or`` chooses, and a plain stage (:func:`_plain_stage`)
    is given back as DVC's schema gives it. A lock's stages and items (path,
    digest, size) are most of a lock's validation: see :func:`_lock_stage` and
    :func:`_lock_item`. The data and errors are DVC's.
    """
    from dvc.schema import COMPILED_LOCKFILE_SCHEMA, COMPILED_MULTI_STAGE_SCHEMA

    if schema is COMPILED_MULTI_STAGE_SCHEMA:
        return _multi_stage_schema()
    return _lockfile_schema() if schema is COMPILED_LOCKFILE_SCHEMA else schema


def _checked(schema: Any, data: Any) -> Any:
    """``schema(data)``, its errors raised as a schema nested in a mapping or list raises them."""
    import voluptuous as vol

    try:
        return schema(data)
    except vol.MultipleInvalid as exc:
        if isinstance(data, dict):
            raise
        raise exc.errors[0] from None  # not a mapping: DVC's nested schema raises it unwrapped


@functools.cache
def _multi_stage_schema() -> Any:
    import voluptuous as vol
    from dvc.parsing import DO_KWD, FOREACH_KWD
    from dvc.schema import FOREACH_IN, MULTI_STAGE_SCHEMA, STAGE_DEFINITION, STAGES

    stage, foreach = vol.Schema(STAGE_DEFINITION), vol.Schema(FOREACH_IN)

    def either_or(data: Any) -> Any:  # dvc.schema.either_or, as SINGLE_PIPELINE_STAGE_SCHEMA has it
        if isinstance(data, Mapping) and {FOREACH_KWD, DO_KWD} & data.keys():
            return foreach(data)
        plain = _plain_stage(data)
        return stage(data) if plain is None else plain

    return vol.Schema({**MULTI_STAGE_SCHEMA, STAGES: {str: either_or}})


_STAGE_LISTS = frozenset(("deps", "outs"))


def _plain_stage(data: Any) -> dict[str, Any] | None:
    """A plain ``dvc.yaml`` stage as DVC's ``STAGE_DEFINITION`` gives it back; None: not plain.

    Plain: a dict with a text ``cmd`` and, besides, only ``deps`` and ``outs``
    lists of texts. DVC's schema gives it back as new dicts and lists, keys
    in the same order (tested).
    """
    if type(data) is not dict or type(data.get("cmd")) is not str:
        return None
    stage = {}
    for key, value in data.items():
        if key == "cmd":
            stage[key] = value
        elif key in _STAGE_LISTS and type(value) is list and all(type(v) is str for v in value):
            stage[key] = list(value)
        else:
            return None
    return stage


_PLAIN_ITEM_TYPES = {"path": str, "md5": str, "hash": str, "size": int, "nfiles": int}


@functools.cache
def _lockfile_schema() -> Any:
    """DVC's ``LOCKFILE_SCHEMA``, its stages checked by :func:`_lock_stage`."""
    import voluptuous as vol
    from dvc.schema import DATA_SCHEMA, LOCK_FILE_STAGE_SCHEMA, LOCKFILE_SCHEMA, STAGES
    from dvc.stage.params import StageParams

    item = _lock_item(vol.Schema(DATA_SCHEMA))
    stage = {
        **LOCK_FILE_STAGE_SCHEMA,
        StageParams.PARAM_DEPS: [item],
        StageParams.PARAM_OUTS: [item],
    }
    return vol.Schema({**LOCKFILE_SCHEMA, STAGES: {str: _lock_stage(vol.Schema(stage))}})


def _lock_stage(stage_schema: Any) -> Any:
    """DVC's ``LOCK_FILE_STAGE_SCHEMA`` check of a lock stage; a plain one is given back directly.

    Plain: a dict with a text ``cmd`` and, besides, only ``deps`` and ``outs``
    lists of plain items (:func:`_plain_item`) and ``params`` mapping texts to
    mappings keyed by texts. DVC's schema gives such a stage back as new dicts
    and lists equal to it, keys in the same order (tested): it is given back
    itself, not copied (what a schema gives back is not kept: DVC's ``load``
    and :mod:`.dvcfiles` keep the data they validated). Any other stage is
    checked by DVC's schema itself.
    """

    def lock_stage(data: Any) -> Any:
        return data if _plain_lock_stage(data) else _checked(stage_schema, data)

    return lock_stage


def _plain_lock_stage(data: Any) -> bool:
    """Whether :func:`_lock_stage` gives ``data`` back as it is (plain)."""
    if type(data) is not dict or type(data.get("cmd")) is not str:
        return False
    for key, value in data.items():
        if key == "cmd":
            continue
        if key in _STAGE_LISTS and type(value) is list and all(map(_plain_item, value)):
            continue
        if key != "params" or not _plain_params(value):
            return False
    return True


def _plain_params(params: Any) -> bool:
    """Whether ``params`` maps texts to dicts keyed by texts (DVC's ``{str: {str: object}}``)."""
    if type(params) is not dict:
        return False
    for name, values in params.items():
        if type(name) is not str or type(values) is not dict:
            return False
        if not all(type(key) is str for key in values):
            return False
    return True


def _plain_item(data: Any) -> bool:
    """Whether DVC's ``DATA_SCHEMA`` gives lock item ``data`` back as it is.

    Plain: only ``path``, ``md5``, ``hash``, ``size``, ``nfiles`` keys, of
    exactly the types DVC's schema takes unchanged (text; an ``md5`` of three
    characters or more, in lower case, as DVC's ``CHECKSUM_SCHEMA`` keeps it;
    integers that are not booleans), with a ``path``.
    """
    if type(data) is not dict or "path" not in data:
        return False
    for key, value in data.items():
        if type(value) is not _PLAIN_ITEM_TYPES.get(key):
            return False
    md5 = data.get("md5")
    return md5 is None or (len(md5) >= 3 and md5 == md5.lower())


def _lock_item(data_schema: Any) -> Any:
    """DVC's ``DATA_SCHEMA`` check of a lock item; a plain one (:func:`_plain_item`) as it is.

    DVC's schema gives a plain item back equal, as a new dict (tested): it is
    given back itself (see :func:`_lock_stage`); any other item is checked by
    DVC's schema itself.
    """

    def lock_item(data: Any) -> Any:
        return data if _plain_item(data) else _checked(data_schema, data)

    return lock_item
