"""Where DVC keeps an output's bytes: the project's local cache, and the object of a digest.

The cache is the one DVC itself would use for the project: where its DVC
config puts it (``cache.dir`` of ``.dvc/config``, ``.dvc/config.local`` or the
user's and system's DVC config, as ``dvc checkout`` reads them; by default
``.dvc/cache``). It may be outside the repository (a shared cache): that
location comes from DVC's config only, never from a pipeline or an
attestation. A cache that is not a local folder is not used. With
``BuildContext.cache_repo``, it is the cache *that* repository's config names
for the project at the same place.

An object's path is the cache's own ``oid_to_path`` of a digest DVC recorded,
and only of a well-formed one (32 hex digits, and ``.dir`` for a directory):
a recorded value cannot lead the engine anywhere else. Nothing here reads or
writes an object; :mod:`policy_engine.graph.builders.dvccache` reads them and
checks their md5.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.graph.builders.dvc.repo import open_read_only
from policy_engine.graph.model import DigestClaim, SourceRef

if TYPE_CHECKING:
    from dvc.repo import Repo
    from dvc_data.hashfile.db import HashFileDB

HASH_NAMES = ("md5", "md5-dos2unix")  # DVC 3 digests, and DVC 2 ones as DVC reads them
_OBJECT_ID = re.compile(r"^[0-9a-f]{32}(\.dir)?$")
DEFERRED_KEY = "dvc-cache"  # BuildContext.deferred: {path: [CachedObject, ...]}


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
    """One project's local caches, by hash name (none when the project has no local cache)."""

    def __init__(self, odbs: dict[str, HashFileDB]) -> None:
        self._odbs = odbs

    @classmethod
    def of(cls, repo: Repo) -> DvcCaches:
        """The caches ``repo``'s DVC config names."""
        found = {name: _local(repo, name) for name in HASH_NAMES}
        return cls({name: odb for name, odb in found.items() if odb is not None})

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


def _local(repo: Repo, hash_name: str) -> HashFileDB | None:
    odb: HashFileDB | None = repo.cache.local if hash_name == "md5" else repo.cache.legacy
    if odb is None or getattr(odb.fs, "protocol", None) != "local":
        return None
    return odb


def project_caches(repo: Repo, root: Path, project: Path, cache_repo: Path | None) -> DvcCaches:
    """The caches for the project at ``project`` (under ``root``), opened as ``repo``.

    With ``cache_repo``, the caches of the project at the same place under it
    (none when it has no DVC project there); that repository is only read.
    """
    if cache_repo is None:
        return DvcCaches.of(repo)
    other = cache_repo / project.relative_to(root)
    if not (other / ".dvc").is_dir():
        return DvcCaches({})
    with open_read_only(other) if other != project else nullcontext(repo) as cache_owner:
        return DvcCaches.of(cache_owner)
