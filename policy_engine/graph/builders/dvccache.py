"""Builder for the DVC cache: the current bytes of DVC outputs missing from the workspace.

Runs after the workspace builder. An artifact DVC tracks (an output of a stage
or of a ``.dvc`` file, or a file of a directory output whose ``.dir`` manifest
is at hand) and that is not in the workspace is looked up in the DVC cache
(:mod:`.dvc.caches`: the repository's, or ``BuildContext.cache_repo``'s):

* a file: the object of the digest DVC recorded counts only when its bytes
  hash to that digest (``md5``; ``md5-dos2unix`` as DVC 2 computed it); it
  then gets a :class:`WorkspaceFile` whose ``location`` is ``dvc-cache``;
* a directory: through its ``.dir`` manifest (read and checked by
  :mod:`.dvc.manifests`: what dvc-data built when DVC committed it, so what
  ``.dvcignore`` left out is not in it), every file's object checked as
  above; it is digested as the workspace builder digests a directory.

An object that does not hash to its digest is not used, and is a
``cache-object`` issue. An artifact whose bytes are in neither place is not
materialised: ``graph.set_locked`` records the digest DVC recorded for it,
which rules then judge against what was signed. The cache is only read
(objects are opened as regular files, never through a final symlink) and
objects are hashed like workspace files, through the same persistent hash
cache (which is outside the repository).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from policy_engine.graph.builders.dvc.caches import DEFERRED_KEY, CachedObject
from policy_engine.graph.builders.hashcache import HashCache
from policy_engine.graph.builders.workspace import Hasher, directory_digest, hash_file, hash_files
from policy_engine.graph.bulk import node_attributes
from policy_engine.graph.model import Evidence, Issue, ProvenanceGraph, WorkspaceFile

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext

LOCATION = "dvc-cache"
Digests = dict[str, WorkspaceFile | OSError]


def build_dvc_cache(
    graph: ProvenanceGraph, context: BuildContext, hasher: Hasher | None = None
) -> None:
    """Give DVC outputs missing from the workspace their bytes from the DVC cache, if there.

    The others are recorded as not materialised, with the digest DVC recorded.
    """
    recorded: Mapping[str, list[CachedObject]] = context.deferred.get(DEFERRED_KEY, {})
    nodes = node_attributes(graph.g)  # one lookup per output, not two through networkx's views
    absent = [
        path
        for path in recorded
        if (node := nodes.get(graph.artifact_id(path))) is not None and node["workspace"] is None
    ]
    missing = {path: recorded[path] for path in sorted(absent)}  # only those sorted
    locations = _locations(missing.values()) if context.dvc_cache else []
    digests = _hash(locations, context, hasher)
    checker = ObjectChecker(graph, digests)
    for path, objects in missing.items():
        current = next(filter(None, (checker.resolve(o) for o in objects)), None)
        if current is not None:
            graph.set_workspace(path, current)
        else:
            graph.set_locked(path, objects[0].claim)


def _locations(groups: Iterable[Sequence[CachedObject]]) -> list[str]:
    found: dict[str, None] = {}
    for objects in groups:
        for obj in objects:
            for part in obj.files if obj.files is not None else (obj,):
                if part.location is not None:
                    found[part.location] = None
    return list(found)


def _hash(locations: list[str], context: BuildContext, hasher: Hasher | None) -> Digests:
    if not locations:
        return {}
    cache = HashCache.open(context.root) if hasher is None and context.hash_cache else None
    try:
        return hash_files(locations, hasher or hash_file, cache=cache, progress=context.progress)
    finally:
        if cache is not None:
            cache.close()


class ObjectChecker:
    """Turns cache objects into current bytes, each checked against its recorded digest."""

    def __init__(self, graph: ProvenanceGraph, digests: Digests) -> None:
        self.graph = graph
        self.digests = digests
        self._reported: set[str] = set()

    def resolve(self, obj: CachedObject) -> WorkspaceFile | None:
        """The bytes of ``obj`` (a file, or a directory through its files); None: not usable."""
        if obj.files is None:
            return self._file(obj)
        files: list[tuple[str, WorkspaceFile]] = []
        for part in obj.files:
            current = self._file(part)
            if current is None:
                return None  # a directory is only at hand with every one of its files
            files.append((part.path.removeprefix(obj.path + "/"), current))
        digest = directory_digest(files)
        return WorkspaceFile(digest.sha256, digest.md5, digest.size, LOCATION)

    def _file(self, obj: CachedObject) -> WorkspaceFile | None:
        if obj.location is None or obj.value.endswith(".dir"):
            return None
        found = self.digests.get(obj.location)
        if found is None or isinstance(found, FileNotFoundError):
            return None
        if isinstance(found, OSError):
            self._report(obj, f"cannot be read: {found.strerror or found}")
            return None
        if not _verifies(obj, found):
            self._report(obj, f"does not hash to the `{obj.hash_name}` DVC recorded")
            return None
        return WorkspaceFile(found.sha256, found.md5, found.size, LOCATION)

    def _report(self, obj: CachedObject, problem: str) -> None:
        assert obj.location is not None
        if obj.location in self._reported:
            return
        self._reported.add(obj.location)
        message = f"the DVC cache object of `{obj.path}` {problem}; it was not used"
        evidence = (
            Evidence(obj.hash_name, obj.value, str(obj.source)),
            Evidence("cache object", obj.location),
        )
        self.graph.issues.append(Issue("cache-object", obj.path, message, evidence))


def _verifies(obj: CachedObject, found: WorkspaceFile) -> bool:
    """Whether the object's bytes hash to its recorded digest (``md5``, or DVC 2's)."""
    if obj.hash_name == "md5":
        return found.md5 == obj.value
    from dvc_data.hashfile.hash import file_md5

    assert obj.location is not None
    try:
        return bool(file_md5(obj.location, name="md5-dos2unix") == obj.value)
    except OSError:
        return False
