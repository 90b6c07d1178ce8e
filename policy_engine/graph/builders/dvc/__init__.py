"""Builder for DVC: the stages of every DVC project of the repository, their data, their locks.

DVC's own loader reads each project (``dvc.repo.Repo``, ``dvc.dvcfile``), so
``vars``, ``foreach``, ``matrix``, params interpolation, ``wdir``, several
``dvc.yaml`` files in subfolders, ``.dvcignore``/``.gitignore`` handling and
the lock formats behave exactly as in DVC. Nothing is run: no DVC command, no
stage command, no hashing of the workspace (the lock's digests are claims; the
workspace builder adds the real ones), nothing fetched. DVC is imported only
when a project is read, and reading writes nothing in the repository
(:mod:`.repo`).

The package, in the order a build goes:

* :mod:`.search`: the projects (folders with ``.dvc``; several per git
  repository with ``dvc init --subdir``), found top-down and bounded;
* :mod:`.dvcfiles` and :mod:`.yamlload`: DVC's own file classes, their YAML
  parsed once into the data DVC's parser gives (line by line by
  :mod:`.blockyaml` when all of it is in the plain block style DVC writes,
  else by libyaml; aliases bounded), the lines of their keys from the same parse;
* :mod:`.files`: each project's DVC files as DVC's index collects and loads
  them (found by DVC's walk, :mod:`.walk`, which keeps each folder's listing
  for path confinement; and DVC 1 locks, which DVC 3 no longer reads), refusing
  a pipeline whose ``vars`` files DVC would read from outside the repository, and, with
  :mod:`.bounds`, one that would expand to too many stages or a lock with too
  many entries;
* :mod:`.records` and :mod:`.fastload`: each stage as a plain record, built
  from DVC's resolved data and lock entry with DVC's helpers (equal to the
  record of DVC's own ``Stage``, which an exotic stage and a ``.dvc`` file
  still get);
* :mod:`.project`: a :class:`Step` per stage (named as :mod:`.context` says),
  INPUT/OUTPUT edges with the lock's digests, ``params`` values the lock
  recorded, ``meta``/``desc``/``frozen``; ``.dvc`` outputs as declared sources
  with their :class:`Origin` (added, or imported from a repository at a
  ``rev_lock``, or from a URL) and the digests the files record;
* :mod:`.manifests`: a node per file of a directory output when its ``.dir``
  manifest is at hand, produced by the directory's step with the manifest's
  md5 (or claimed by the ``.dvc`` file that declares the directory);
* :mod:`.declarations`: ``artifacts:``, ``metrics:``, ``plots:`` and output
  annotations as :class:`Declaration` s on the artifacts;
* :mod:`.locks`: ``stale-lock``, ``not-in-lock`` and ``lock-mismatch`` issues;
* :mod:`.params`: ``params-changed``: the params a stage ran with are not the
  params files' values now (as ``dvc status`` compares them);
* :mod:`.ledger`: ``duplicate-output`` issues, and paths inside a stage's
  directory output produced by that stage;
* :mod:`.caches`: where the DVC cache keeps each output's bytes (the
  project's cache, or ``BuildContext.cache_repo``'s), left in
  ``context.deferred`` for :mod:`policy_engine.graph.builders.dvccache`.

Problems the engine can judge around are ``graph.issues`` (those above,
``path-escape``, ``dir-manifest``, ``dvc-file-edited``, ``orphan-pipeline``,
``search-bounded``); a DVC file DVC cannot load raises :class:`InputError`
naming it, as do a pipeline whose ``vars`` leave the repository (or expand
beyond the YAML alias budget), a stage whose ``meta`` is not a mapping and a
root with a pipeline file and no ``.dvc``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.caches import DEFERRED_KEY
from policy_engine.graph.builders.dvc.context import Reading
from policy_engine.graph.builders.dvc.project import read_project
from policy_engine.graph.builders.dvc.search import PIPELINE_FILES, ProjectSearch
from policy_engine.graph.model import ProvenanceGraph

if TYPE_CHECKING:
    from policy_engine.graph.builders import BuildContext

__all__ = ["build_dvc"]


def build_dvc(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Add every DVC project under ``context.root``: stages, their inputs and outputs, sources.

    A root with no DVC project adds nothing, unless it has a ``dvc.yaml`` or
    ``dvc.lock`` itself (an :class:`InputError`: DVC could not load it).
    """
    root = Path(context.root)
    if not (root / ".dvc").is_dir():
        _refuse_orphan_pipeline(root)
    reading = Reading(graph, root, cache_repo=context.cache_repo)
    search = ProjectSearch(root)
    for folder in search:
        outputs, leaves = read_project(reading, root / folder)
        search.prune(outputs)
        search.listed(leaves)
    graph.issues.extend(search.issues)
    graph.issues.extend(reading.ledger.duplicates())
    reading.ledger.link_contained(graph)
    context.deferred[DEFERRED_KEY] = reading.cached


def _refuse_orphan_pipeline(root: Path) -> None:
    for name in PIPELINE_FILES:
        if (root / name).exists():
            raise InputError(
                "a DVC pipeline file but no `.dvc` directory: not a DVC repository, "
                "so DVC cannot load it",
                name,
            )
