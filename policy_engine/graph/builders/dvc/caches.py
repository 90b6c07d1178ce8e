"""Where DVC keeps an output's bytes: the project's local cache, and the object of a digest.

The cache is the one DVC itself would use for the project: where its DVC
config puts it (``cache.dir`` of ``.dvc/config``, ``.dvc/config.local`` or the
user's and system's DVC config, as ``dvc checkout`` reads them; by default
``.dvc/cache``). A cache that is not a local folder is not used. With
``BuildContext.cache_repo``, it is the cache *that* repository's config names
for the project at the same place.

The repository's files are input (a pull request may change them), so a cache
is read only when it resolves inside the repository it belongs to, or inside a
cache folder the user's own DVC config (global or system level) names: a
shared cache is allowed by naming it there. Any other cache (``cache.dir``
absolute, with ``..``, or ``.dvc/cache`` a symlink leaving the repository) is
not read: a ``path-escape`` issue names the config line, and the outputs it
would hold are judged from the lock as not materialised.

An object's path is the cache's own ``oid_to_path`` of a digest DVC recorded,
and only of a well-formed one (32 hex digits, and ``.dir`` for a directory):
a recorded value cannot lead the engine anywhere else. Nothing here reads or
writes an object; :mod:`policy_engine.graph.builders.dvccache` reads them and
checks their md5.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.repo import open_read_only
from policy_engine.graph.model import DigestClaim, Evidence, Issue, SourceRef
from policy_engine.inputs import is_inside, read_text

if TYPE_CHECKING:
    from dvc.repo import Repo
    from dvc_data.hashfile.db import HashFileDB

HASH_NAMES = ("md5", "md5-dos2unix")  # DVC 3 digests, and DVC 2 ones as DVC reads them
MAX_CONFIG_BYTES = 512 * 1024  # a DVC config read for the line naming the cache
_OBJECT_ID = re.compile(r"^[0-9a-f]{32}(\.dir)?$")
DEFERRED_KEY = "dvc-cache"  # BuildContext.deferred: CachedOutputs, path -> [CachedObject, ...]


@dataclass(frozen=True)
class CachedObject:
    """An output (or a file of a directory output) and the cache object DVC recorded for it."""

    path: str  # repository path of the artifact
    hash_name: str  # "md5" | "md5-dos2unix"
    value: str  # the recorded digest; ``<md5>.dir`` for a directory
    location: str | None  # the object's path in the cache; None: no local cache
    source: SourceRef  # where DVC recorded the digest
    files: tuple[CachedObject, ...] | None = None  # a directory's, from its manifest at hand

    @property
    def claim(self) -> DigestClaim:
        return DigestClaim(self.hash_name, self.value, self.source)


class DvcCaches:
    """One project's local caches, by hash name (none when the project has no local cache).

    ``refused`` holds the issue of a cache left unread because it is outside its repository.
    """

    def __init__(self, odbs: dict[str, HashFileDB], refused: tuple[Issue, ...] = ()) -> None:
        self._odbs = odbs
        self.refused = refused

    @classmethod
    def of(cls, repo: Repo, root: Path) -> DvcCaches:
        """The caches ``repo``'s DVC config names, if they are inside ``root`` (see above)."""
        found = {name: _local(repo, name) for name in HASH_NAMES}
        odbs = {name: odb for name, odb in found.items() if odb is not None}
        allowed: list[str | Path] = [root, *_user_cache_dirs(repo)]
        if all(any(is_inside(odb.path, folder) for folder in allowed) for odb in odbs.values()):
            return cls(odbs)
        return cls({}, (_outside(repo, root),))

    def object_path(self, hash_name: str, value: str) -> str | None:
        """The cache path of the object of ``value``; None without a cache or a well-formed id."""
        odb = self._odbs.get(hash_name)
        if odb is None or not _OBJECT_ID.match(value):
            return None
        return str(odb.oid_to_path(value))

    def cached(
        self,
        path: str,
        digest: Mapping[str, str],
        source: SourceRef,
        files: tuple[CachedObject, ...] | None = None,
    ) -> CachedObject | None:
        """The cache object of ``path`` recorded as ``digest`` (one of :data:`HASH_NAMES`)."""
        for hash_name in HASH_NAMES:
            value = digest.get(hash_name)
            if value:
                location = self.object_path(hash_name, value)
                return CachedObject(path, hash_name, value, location, source, files)
        return None


Pending = tuple[DvcCaches, Mapping[str, str], SourceRef, "tuple[CachedObject, ...] | None"]


class CachedOutputs(Mapping[str, list[CachedObject]]):
    """The cache objects of the outputs recorded, by artifact path, each list made when read.

    :meth:`DvcCaches.cached` of what :meth:`add` was given, in the order given (an
    output without a cacheable digest left out). The cache builder reads those of
    outputs missing from the workspace: the others' objects are never made.
    """

    def __init__(self) -> None:
        self._pending: dict[str, list[Pending]] = {}

    def add(
        self,
        caches: DvcCaches,
        path: str,
        digest: Mapping[str, str],
        source: SourceRef,
        files: tuple[CachedObject, ...] | None = None,
    ) -> None:
        """Record that ``caches`` hold ``path``'s bytes as ``digest`` (if one of HASH_NAMES)."""
        for name in HASH_NAMES:
            if digest.get(name):
                self._pending.setdefault(path, []).append((caches, digest, source, files))
                return

    def __getitem__(self, path: str) -> list[CachedObject]:
        made = (
            caches.cached(path, digest, source, files)
            for caches, digest, source, files in self._pending[path]
        )
        return [cached for cached in made if cached is not None]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pending)

    def __len__(self) -> int:
        return len(self._pending)


def _local(repo: Repo, hash_name: str) -> HashFileDB | None:
    odb: HashFileDB | None = repo.cache.local if hash_name == "md5" else repo.cache.legacy
    if odb is None or getattr(odb.fs, "protocol", None) != "local":
        return None
    return odb


def _user_cache_dirs(repo: Repo) -> list[str]:
    """The cache folders the user's and the system's DVC config name (not the repository's)."""
    folders = []
    for level in ("system", "global"):
        try:
            folder = repo.config.load_one(level).get("cache", {}).get("dir")
        except Exception:
            folder = None
        if folder:
            folders.append(str(folder))
    return folders


def _outside(repo: Repo, root: Path) -> Issue:
    """The issue of a cache outside ``root``, at the config line naming it (else the folder)."""
    where = _cache_dir_line(Path(repo.dvc_dir)) or ".dvc/cache"
    message = (
        f"`{where}` puts the DVC cache outside the repository; it was not read, and outputs "
        "missing from the workspace are judged from the lock (name a shared cache in the "
        "user's DVC config to read it)"
    )
    return Issue("path-escape", where, message, (Evidence("file", where),))


def _cache_dir_line(dvc_dir: Path) -> str | None:
    """``.dvc/config.local:LINE`` or ``.dvc/config:LINE`` of ``dir`` in ``[cache]``, if any."""
    for name in ("config.local", "config"):
        try:
            text = read_text(dvc_dir / name, f".dvc/{name}", MAX_CONFIG_BYTES)
        except InputError:
            continue
        section = ""
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped.strip("[]").strip().strip("'\"")
            elif section == "cache" and stripped.split("=")[0].strip() == "dir":
                return f".dvc/{name}:{number}"
    return None


def project_caches(repo: Repo, root: Path, project: Path, cache_repo: Path | None) -> DvcCaches:
    """The caches for the project at ``project`` (under ``root``), opened as ``repo``.

    With ``cache_repo``, the caches of the project at the same place under it
    (none when it has no DVC project there); that repository is only read.
    """
    if cache_repo is None:
        return DvcCaches.of(repo, root)
    other = cache_repo / project.relative_to(root)
    if not (other / ".dvc").is_dir():
        return DvcCaches({})
    with open_read_only(other) if other != project else nullcontext(repo) as cache_owner:
        return DvcCaches.of(cache_owner, cache_repo)
