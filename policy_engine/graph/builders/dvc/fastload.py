"""A pipeline's stages as records, from DVC's resolved data, without DVC's per-stage objects.

DVC's resolver (``DataResolver``: ``vars``, ``foreach``, ``matrix``,
interpolation) gives each stage's data, and DVC's lock schema has validated
the lock entry; what DVC's ``StageLoader.load_stage`` would then build
(a ``Stage``, an ``Output`` per dependency and output, each with its file
system, path objects and hash info) is read here straight off that data, with
DVC's own helpers for the meaning of each piece: ``_merge_params`` (params
files and keys), ``_merge_data`` (output specs and flags),
``Annotation``, ``is_valid_filename`` and the ``.dvcignore`` check an output
gets (:mod:`.ignores`). A lock item's digest is read as ``fill_from_lock`` reads it.

A plain stage definition (:func:`plain_definition`: no ``vars``, ``foreach``,
``matrix`` or ``do``, no ``${`` anywhere, only texts, numbers, booleans and
nulls in dicts and lists) is what DVC's resolver gives back, as a copy,
without its walk: interpolation checks and resolution of every text, which
change and track nothing for such a stage (tested against ``resolve_one``).

The fast path covers the plain case, and gives up (None) on anything else, so
that the stage is loaded by DVC itself (:func:`.records.from_stage`): a path
that is absolute, has a scheme or a colon (URLs, ``ds://``, drive letters),
leaves the project or names a DVC file; an output DVC's ``.dvcignore``
ignores; a lock item with cloud versions, a file list, another hash than
``md5`` or a digest that is not text.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.graph.builders.dvc.ignores import OutputIgnores
from policy_engine.graph.builders.dvc.records import (
    PATH,
    Item,
    ParamsFile,
    StageRecord,
    from_stage,
    out_paths,
)

if TYPE_CHECKING:
    from dvc.dvcfile import ProjectFile
    from dvc.parsing import DataResolver

OUT_KEYS = ("outs", "metrics", "plots")  # the order DVC's loader reads them in
Locked = dict[str, Mapping[str, Any]] | None  # a lock entry's deps or outs by path; None: no entry
_PLAIN_LOCK_KEYS = frozenset({"path", "md5", "hash", "size", "nfiles", "isdir"})


class _Exotic(Exception):
    """Something only DVC's own objects read exactly: the stage is left to DVC."""


def stage_records(
    dvcfile: ProjectFile, names: list[str], lock: Mapping[str, Any]
) -> tuple[tuple[StageRecord, ...], set[str]]:
    """The records of the stages ``names`` of pipeline ``dvcfile`` (resolved by DVC), and
    their outputs' paths as :func:`.records.out_paths` gives them (each found once)."""
    loader = _Loader(dvcfile)
    records: list[StageRecord] = []
    for name in names:
        data = resolve_one(dvcfile.resolver, name)
        entry = lock.get(name)
        try:
            records.append(loader.record(name, data, entry if isinstance(entry, Mapping) else {}))
        except _Exotic:
            records.append(from_stage(dvcfile.stages[name]))
            loader.outs_found.update(out_paths(records[-1:]))
    return tuple(records), loader.outs_found


def resolve_one(resolver: DataResolver, name: str) -> Any:
    """DVC's ``resolver.resolve_one(name)[name]``: a plain stage's (:func:`plain_definition`)
    copied, any other's resolved by DVC."""
    data = plain_definition(resolver, name)
    if data is None:
        return resolver.resolve_one(name)[name]
    resolver.track_vars(name, defaultdict(dict))  # DVC tracks no variable for it
    return data


def plain_definition(resolver: DataResolver, name: str) -> dict[str, Any] | None:
    """A copy of stage ``name``'s definition, if DVC's resolver gives it back unchanged; else None.

    Unchanged: a stage that is not generated (no ``@`` in its name, no ``foreach``
    or ``matrix``), a dict without ``vars`` or ``do``, whose ``wdir`` is empty or
    a text, holding only dicts, lists, and texts without ``${`` (nothing to
    interpolate, no ``\\${`` to unescape), integers, floats, booleans and nulls.
    DVC's resolver would check, copy and resolve each of them to itself.
    """
    from dvc.parsing import EntryDefinition

    entry = resolver.definitions.get(name) if type(name) is str and "@" not in name else None
    if entry is None or type(entry) is not EntryDefinition:
        return None  # generated (foreach, matrix), or not a stage: DVC's resolver answers
    definition = entry.definition
    if type(definition) is not dict or not _PLAIN_STAGE_KEYS.isdisjoint(definition):
        return None
    wdir = definition.get("wdir")
    if wdir and type(wdir) is not str:
        return None  # DVC's resolver fails on it
    try:
        copy: dict[str, Any] = _plain_copy(definition)
    except (_Templated, RecursionError):
        return None
    return copy


_PLAIN_STAGE_KEYS = frozenset(("vars", "foreach", "matrix", "do"))
_PLAIN_SCALARS = frozenset((int, float, bool, type(None)))


class _Templated(Exception):
    """Data DVC's resolver would read as more than itself."""


def _plain_copy(data: Any) -> Any:
    """``data`` copied (new dicts and lists), if plain (see :func:`plain_definition`)."""
    kind = type(data)
    if kind is str:
        if "${" in data:
            raise _Templated(data)
        return data
    if kind is list:  # a text without ``${`` is kept here, without a call (most items)
        return [i if type(i) is str and "${" not in i else _plain_copy(i) for i in data]
    if kind is dict:
        return {_plain_copy(key): _plain_copy(value) for key, value in data.items()}
    if kind not in _PLAIN_SCALARS:
        raise _Templated(data)  # dates, sets, tuples...: left to DVC
    return data


def dvc_file_test() -> Callable[[str], bool]:
    """DVC's test of a name (or path) being a DVC file, after a cheap look at its ending
    (every name DVC's ``is_valid_filename`` accepts ends with one of them)."""
    from dvc.dvcfile import DVC_FILE_SUFFIX, PROJECT_FILE, is_valid_filename

    endings = (DVC_FILE_SUFFIX, PROJECT_FILE)
    return lambda name: name.endswith(endings) and is_valid_filename(name)


class _Loader:
    """What DVC's stage loader does for one pipeline file, on plain data."""

    def __init__(self, dvcfile: ProjectFile) -> None:
        from dvc.dependency import _merge_params
        from dvc.output import _merge_data

        self.folder = os.path.dirname(os.path.abspath(dvcfile.path))
        self.root_prefix = os.path.abspath(dvcfile.repo.root_dir) + os.sep
        self.merge_params, self.merge_data = _merge_params, _merge_data
        self.is_dvc_file = dvc_file_test()
        self.ignored = OutputIgnores(dvcfile.repo)
        self.outs_found: set[str] = set()  # the absolute normal paths of the records' outputs

    def record(self, name: str, data: Mapping[str, Any], entry: Mapping[str, Any]) -> StageRecord:
        """DVC's ``load_stage`` of resolved ``data`` with lock ``entry``, as a record."""
        wdir = os.path.abspath(os.path.join(self.folder, data.get("wdir") or os.curdir))
        locked = _by_path(entry.get("deps")) if entry else None  # DVC fills from a lock entry
        deps = tuple([self.item(path, wdir, locked) for path in data.get("deps") or ()])
        params = self.params(data.get("params") or [], entry)
        found: list[str] = []  # the outputs' paths, kept once the stage is read
        outs = tuple(self.outs(data, wdir, _by_path(entry.get("outs")) if entry else None, found))
        self.outs_found.update(found)
        return StageRecord(
            name=name,
            cmd=data.get("cmd"),
            wdir=wdir,
            deps=deps,
            params=params,
            outs=outs,
            frozen=bool(data.get("frozen", False)),
            desc=data.get("desc"),
            meta=data.get("meta"),
        )

    def params(self, declared: list[Any], entry: Mapping[str, Any]) -> tuple[ParamsFile, ...]:
        """DVC's params dependencies, their values as ``fill_values`` takes them from the lock."""
        files: list[ParamsFile] = []
        for path, keys in self.merge_params(declared).items():
            _plain_path(path)
            values = (entry.get("params") or {}).get(path) if entry else None
            if values is not None:
                values = dict(values) if not keys else {k: values[k] for k in keys if k in values}
            files.append(ParamsFile(path, tuple(keys), values))
        return tuple(files)

    def outs(
        self, data: Mapping[str, Any], wdir: str, locked: Locked, found: list[str]
    ) -> list[Item]:
        """DVC's ``load_from_pipeline`` for ``outs``, ``metrics`` and ``plots``, in that order
        (each one's absolute normal path put in ``found``)."""
        items: list[Item] = []
        checked, ignored = self.checked, self.ignored.normal
        for key in OUT_KEYS:
            if key not in data:
                continue
            metric, plot = key == "metrics", key == "plots"  # DVC: plot props or True: truthy
            for path, flags in self.merge_data(data[key]).items():
                full = checked(path, wdir)
                if ignored(full):
                    raise _Exotic(path)  # DVC refuses an output .dvcignore ignores
                found.append(full)
                digest = _digest(locked.get(path)) if locked else {}
                annotations = _annotations(flags) if flags else {}  # no flag: DVC's is empty
                items.append(Item(path, True, digest, PATH, metric, plot, annotations))
        return items

    def item(self, path: Any, wdir: str, locked: Locked) -> Item:
        """A local path dependency and the digest ``fill_from_lock`` gives it."""
        self.checked(path, wdir)
        return Item(path=path, local=True, digest=_digest(locked.get(path) if locked else None))

    def checked(self, path: Any, wdir: str) -> str:
        """The absolute normal path of ``path`` from ``wdir``, if DVC reads it as a plain
        local path of the project (else :class:`_Exotic`)."""
        _plain_path(path)
        if self.is_dvc_file(path):
            raise _Exotic(path)  # DVC refuses a DVC file as a dependency or output
        full = joined(wdir, path)
        if not full.startswith(self.root_prefix):
            raise _Exotic(path)  # outside the project: DVC names its hash otherwise
        return full


def joined(wdir: str, path: str) -> str:
    """``os.path.normpath(os.path.join(wdir, path))`` of a relative, non-empty ``path`` and
    a normal absolute ``wdir`` (``os.path.abspath``'s): on posix, a path with nothing for
    ``normpath`` to do (no ``//``, no part starting with ``.``, no ``/`` at the end) is
    joined as it is, without ``normpath``'s walk of its parts."""
    if "//" in path or "/." in path or path[0] == "." or path[-1] == "/" or os.sep != "/":
        return os.path.normpath(os.path.join(wdir, path))
    return f"{wdir}/{path}" if wdir != "/" else f"/{path}"


def _annotations(flags: Mapping[str, Any]) -> dict[str, Any]:
    """DVC's ``Annotation(...).to_dict()`` of an output's flags (empty fields dropped)."""
    from dvc.annotations import ANNOTATION_FIELDS, Annotation

    if not any(flags.get(name) for name in ANNOTATION_FIELDS):
        return {}  # all fields empty: DVC's to_dict drops them all
    labels, meta = flags.get("labels") or [], flags.get("meta") or {}
    annot = Annotation(desc=flags.get("desc"), type=flags.get("type"), labels=labels, meta=meta)
    return dict(annot.to_dict())


def _plain_path(path: Any) -> None:
    if not isinstance(path, str) or not path or ":" in path or "\\" in path or _isabs(path):
        raise _Exotic(path)


_isabs = os.path.isabs if os.sep != "/" else (lambda path: path[0] == "/")  # posixpath's


def _by_path(items: Any) -> dict[str, Mapping[str, Any]]:
    """A lock entry's ``deps`` or ``outs`` by path, as ``fill_from_lock`` indexes them."""
    return {item["path"]: item for item in items or ()}


def _digest(info: Mapping[str, Any] | None) -> dict[str, str]:
    """The digest ``fill_from_lock`` reads from a lock item (none without one)."""
    if info is None:
        return {}
    if not _PLAIN_LOCK_KEYS.issuperset(info):
        raise _Exotic(info)  # cloud versions, a file list, other hashes
    hash_name = info.get("hash")
    if hash_name not in (None, "md5"):
        raise _Exotic(info)
    value = info.get("md5")
    if value is None or value == "":
        return {}
    if not isinstance(value, str):
        raise _Exotic(info)
    return {"md5-dos2unix" if hash_name is None else "md5": value}
