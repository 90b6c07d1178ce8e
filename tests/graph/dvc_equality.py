"""What DVC's own load of a DVC file gives, as comparable data, for both loaders.

Shared by the tests that check :mod:`policy_engine.graph.builders.dvc.dvcfiles`
(libyaml parsing) against DVC's own file classes (ruamel parsing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policy_engine.graph.builders.dvc import dvcfiles


def item_facts(item: Any) -> tuple[Any, ...]:
    """A dep or out: its path, class, digest, params, flags and annotations."""
    return (
        item.def_path,
        type(item).__name__,
        item.hash_info,
        getattr(item, "params", None),
        item.use_cache,
        item.metric,
        item.plot,
        item.persist,
        item.annot.to_dict(),
        item.files,
        item.meta,
    )


def stage_facts(stage: Any) -> dict[str, Any]:
    return {
        "name": getattr(stage, "name", None),  # a .dvc file's stage has none
        "cmd": stage.cmd,
        "wdir": stage.wdir,
        "desc": stage.desc,
        "meta": stage.meta,
        "frozen": stage.frozen,
        "md5": stage.md5,
        "deps": [item_facts(dep) for dep in stage.deps],
        "outs": [item_facts(out) for out in stage.outs],
    }


def file_facts(file: Any) -> Any:
    """Everything the builder reads of one DVC file, or the error loading it raises."""
    try:
        stages = [stage_facts(stage) for stage in file.stages.values()]
        facts: dict[str, Any] = {"stages": stages}
        if hasattr(file, "lockfile_contents"):
            facts["lock"] = file.lockfile_contents
            facts["artifacts"] = file.artifacts
            facts["metrics"] = file.metrics
            facts["plots"] = file.plots
        return facts
    except Exception as exc:  # the same error both ways
        return (type(exc).__name__, str(exc))


def both_loads(repo: Any, path: Path) -> tuple[Any, Any]:
    """(DVC's own load, ours) of the DVC file at ``path`` of ``repo``."""
    from dvc.dvcfile import load_file

    theirs = file_facts(load_file(repo, str(path)))
    ours = file_facts(dvcfiles.load_file(repo, str(path)))
    return theirs, ours


def both_records(repo: Any, path: Path, root: Path) -> tuple[Any, Any]:
    """(records of DVC's own Stage objects, our records) of the DVC file at ``path``.

    DVC's side is its own file class (ruamel parsing) and stage loader; ours is
    the builder's load (libyaml parsing, records from DVC's resolved data).
    Either side may be the error it raises.
    """
    from dvc.dvcfile import load_file

    from policy_engine.graph.builders.dvc.files import load_file as our_load_file
    from policy_engine.graph.builders.dvc.records import from_stage, out_paths

    try:
        theirs: Any = [from_stage(stage) for stage in load_file(repo, str(path)).stages.values()]
    except Exception as exc:  # the same error both ways
        theirs = (type(exc).__name__, str(exc))
    try:
        file = our_load_file(repo, str(path), root)
        ours: Any = list(file.stages)
    except Exception as exc:
        ours = (type(exc).__name__, str(exc))
    else:  # the outputs' paths our loader found as it read them: those of DVC's stages
        assert isinstance(theirs, tuple) or file.outs == set(out_paths(theirs))
    return theirs, ours
