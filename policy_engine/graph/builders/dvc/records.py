"""What the builder reads of a DVC stage: plain frozen records, whoever made them.

A :class:`StageRecord` holds what the engine uses of DVC's ``Stage`` and its
``Output`` s: name, command, working directory, flags, each path dependency
and output (its path as written, whether it is a local path, the digest DVC
read from the lock, metrics/plots flags, annotations) and each params file
(the keys declared, the values the lock recorded). :func:`from_stage` reads
one off DVC's own objects: that is the meaning. :mod:`.fastload` builds the
same records straight from DVC's resolved stage data and lock entry, and the
tests check that both give equal records.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from dvc.output import Output
    from dvc.stage import Stage

PATH, PARAMS, REPO, DATASET, DB = "path", "params", "repo", "dataset", "db"
_KINDS = {
    "ParamsDependency": PARAMS,
    "RepoDependency": REPO,
    "DatasetDependency": DATASET,
    "DbDependency": DB,
}


_NO_ANNOTATIONS: Mapping[str, Any] = MappingProxyType({})
_ENDS_DIR = operator.methodcaller("endswith", ".dir")


class Item(NamedTuple):
    """A dependency or output of a stage, as DVC reads it.

    A named tuple, as :class:`~policy_engine.graph.model.DigestClaim`: a pipeline
    has one per dependency and output (hundreds of thousands), and a tuple is made
    at once where a frozen dataclass is set field by field.
    """

    path: str  # as written (DVC's ``def_path``)
    local: bool  # a path in the file system (not ``s3://``, ``ds://``, ...)
    digest: Mapping[str, str]  # the lock's, named as DVC reads it (see :func:`digest_of`)
    kind: str = PATH  # a dependency's kind: PATH, REPO, DATASET or DB
    metric: bool = False
    plot: bool = False
    annotations: Mapping[str, Any] = _NO_ANNOTATIONS  # DVC's ``annot.to_dict()``
    files: Any = None  # a cloud-versioned directory's file list from the lock

    @property
    def isdir(self) -> bool:
        """A directory: its digest is the md5 of a ``.dir`` manifest (DVC's ``HashInfo.isdir``)."""
        return any(map(_ENDS_DIR, self.digest.values()))  # no generator: asked of every output


@dataclass(frozen=True)
class ParamsFile:
    """A params dependency: the file, its declared keys (none: all), the lock's values."""

    path: str
    keys: tuple[str, ...]
    values: Mapping[str, Any] | None  # None: the lock records none


@dataclass(frozen=True)
class StageRecord:
    """A stage of a ``dvc.yaml`` or a ``.dvc`` file, as DVC loads it."""

    name: str  # "" for a ``.dvc`` file's stage
    cmd: Any  # str, list of str, or None
    wdir: str  # absolute, as DVC makes it
    deps: tuple[Item, ...]  # not params
    params: tuple[ParamsFile, ...]
    outs: tuple[Item, ...]
    frozen: bool = False
    desc: str | None = None
    meta: Any = None
    stage: Any = field(default=None, compare=False, repr=False)  # DVC's Stage, for .dvc files


def digest_of(item: Output) -> dict[str, str]:
    """The digest DVC read for ``item`` from the lock (or ``.dvc`` file); empty when none.

    ``{"md5": ...}`` (a directory's value ending in ``.dir``), ``{"md5-dos2unix": ...}``
    for a DVC 2 entry as DVC itself reads it, or e.g. ``{"etag": ...}`` for a URL.
    """
    info = item.hash_info
    if info and info.name and isinstance(info.value, str):
        return {info.name: info.value}
    return {}


def out_paths(stages: Iterable[StageRecord]) -> Iterator[str]:
    """The absolute normal path of each local output of ``stages`` (what DVC's walk skips)."""
    for stage in stages:
        for out in stage.outs:
            if out.local:
                yield os.path.normpath(os.path.join(stage.wdir, out.path))


def from_stage(stage: Stage, keep: bool = False) -> StageRecord:
    """The record of DVC's own ``stage`` (keeping the object itself when ``keep``)."""
    deps = tuple(_item(dep, dep=True) for dep in stage.deps if _kind(dep) != PARAMS)
    params = tuple(
        ParamsFile(dep.def_path, tuple(dep.params or ()), _values(dep))
        for dep in stage.deps
        if _kind(dep) == PARAMS
    )
    return StageRecord(
        name=getattr(stage, "name", None) or "",
        cmd=stage.cmd,
        wdir=stage.wdir,
        deps=deps,
        params=params,
        outs=tuple(_item(out, dep=False) for out in stage.outs),
        frozen=bool(stage.frozen),
        desc=stage.desc,
        meta=stage.meta,
        stage=stage if keep else None,
    )


def _kind(item: Output) -> str:
    return _KINDS.get(type(item).__name__, PATH)


def _values(dep: Output) -> Mapping[str, Any] | None:
    value = dep.hash_info.value
    return value if isinstance(value, Mapping) else None


def _item(item: Output, dep: bool) -> Item:
    annot = item.annot  # DVC's to_dict drops empty fields: skip its copy when all are
    empty = not (annot.desc or annot.type or annot.labels or annot.meta)
    return Item(
        path=item.def_path,
        local=item.protocol == "local",
        digest=digest_of(item),
        kind=_kind(item) if dep else PATH,
        metric=bool(item.metric),
        plot=bool(item.plot),
        annotations={} if empty else annot.to_dict(),
        files=item.files,
    )
