"""A pipeline's lock against its definition: stale entries, stages never run, differences.

``dvc.lock`` records what each stage of ``dvc.yaml`` consumed and produced
the last time it ran. When the two disagree, the lock's digests are not facts
about the pipeline as defined:

* ``stale-lock``: an entry for a stage ``dvc.yaml`` no longer defines (renamed,
  removed, turned into a ``foreach``); its outputs still claim paths (see
  :mod:`ledger`);
* ``not-in-lock``: a stage without an entry: it never ran as defined;
* ``lock-mismatch``: the entry's command, dependency paths, output paths or
  params keys differ from the stage's (DVC would call the stage changed).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.graph.builders.dvc.context import Reading, address
from policy_engine.graph.builders.dvc.ledger import STALE, OutputClaim
from policy_engine.graph.model import Evidence, Issue, SourceRef

if TYPE_CHECKING:
    from policy_engine.graph.builders.dvc.files import DvcFile
    from policy_engine.graph.builders.dvc.records import ParamsFile, StageRecord


def check_lock(reading: Reading, file: DvcFile) -> None:
    """Add the lock issues of pipeline ``file``; record its stale entries' output claims."""
    dvcfile, lock = reading.rel(file.path), reading.rel(file.lock_path)
    defined = {stage.name: stage for stage in file.stages}
    for name, stage in defined.items():
        entry = file.lock.get(name)
        if entry is not None and _unchanged(stage, entry):
            continue  # most stages: nothing to report, no line to look up
        name_line = reading.lines.line(file.path, "stages", name.split("@")[0])
        defined_at = SourceRef(dvcfile, name_line)
        if entry is None:
            issue = _never_run(address(dvcfile, name), lock, str(defined_at))
            reading.graph.issues.append(issue)
            continue
        locked_at = SourceRef(lock, reading.lines.line(file.lock_path, "stages", name))
        found = list(differences(stage, entry, defined_at, locked_at))
        if found:
            reading.graph.issues.append(_mismatch(address(dvcfile, name), lock, found))
    for name, entry in file.lock.items():
        if name not in defined:
            _stale(reading, file, name, entry)


def differences(
    stage: StageRecord, entry: Mapping[str, Any], defined: SourceRef, locked: SourceRef
) -> Iterator[tuple[str, Evidence]]:
    """(aspect, evidence) of each way ``entry`` differs from ``stage``, as DVC compares them."""
    if entry.get("cmd") != stage.cmd:  # DVC's own test for a changed command
        yield "cmd", Evidence("cmd in dvc.yaml", _text(stage.cmd), str(defined))
        yield "cmd", Evidence("cmd in dvc.lock", _text(entry.get("cmd")), str(locked))
    for aspect, in_yaml, in_lock in _sides(stage, entry):
        if in_yaml == in_lock:
            continue  # the same list: the same set (most stages)
        for item in sorted(set(in_yaml) - set(in_lock)):
            yield aspect, Evidence(f"{aspect} only in dvc.yaml", item, str(defined))
        for item in sorted(set(in_lock) - set(in_yaml)):
            yield aspect, Evidence(f"{aspect} only in dvc.lock", item, str(locked))


def _unchanged(stage: StageRecord, entry: Mapping[str, Any]) -> bool:
    """Whether :func:`differences` finds none: the same command, and each side's same list."""
    if entry.get("cmd") != stage.cmd:
        return False
    return all(in_yaml == in_lock for _, in_yaml, in_lock in _sides(stage, entry))


def _sides(
    stage: StageRecord, entry: Mapping[str, Any]
) -> Iterator[tuple[str, list[str], list[str]]]:
    """(aspect, its names in ``dvc.yaml``, in ``dvc.lock``) of the dep and out paths and the
    params keys, each side made when asked."""
    yield "dep", [dep.path for dep in stage.deps], _paths(entry.get("deps"))
    yield "out", [out.path for out in stage.outs], _paths(entry.get("outs"))
    yield "params", _param_keys(stage.params), _locked_params(stage.params, entry.get("params"))


def _paths(items: Any) -> list[str]:
    """The paths of a lock entry's items (a plain dict's tested first: the lock's are)."""
    return [
        item["path"]
        for item in items or ()
        if (type(item) is dict or isinstance(item, Mapping)) and "path" in item
    ]


def _param_keys(params: Iterable[ParamsFile]) -> list[str]:
    """``file`` for each params file, and ``file:key`` for each key it declares."""
    keys: list[str] = []
    for dep in params:
        keys.append(dep.path)
        keys.extend(f"{dep.path}:{key}" for key in dep.keys)
    return keys


def _locked_params(params: Iterable[ParamsFile], locked: Any) -> list[str]:
    """The lock's params keys, as :func:`_param_keys` names them.

    A file declared without keys (all of it) is compared by name only.
    """
    whole = {dep.path for dep in params if not dep.keys}
    keys: list[str] = []
    for file, values in (locked or {}).items():
        keys.append(file)
        if file not in whole and isinstance(values, Mapping):
            keys.extend(f"{file}:{key}" for key in values)
    return keys


def _text(cmd: Any) -> str:
    if isinstance(cmd, list):
        return "\n".join(str(part) for part in cmd)
    return "" if cmd is None else str(cmd)


def _never_run(name: str, lock: str, defined_at: str) -> Issue:
    message = (
        f"stage `{name}` has no entry in `{lock}`: it never ran as defined, "
        "so nothing records what it consumed and produced"
    )
    return Issue("not-in-lock", name, message, (Evidence("defined at", defined_at),))


def _mismatch(name: str, lock: str, found: list[tuple[str, Evidence]]) -> Issue:
    aspects = ", ".join(dict.fromkeys(aspect for aspect, _ in found))
    message = (
        f"stage `{name}` differs from its entry in `{lock}` ({aspects}): "
        "the lock's digests are not of the stage as defined"
    )
    return Issue("lock-mismatch", name, message, tuple(evidence for _, evidence in found))


def _stale(reading: Reading, file: DvcFile, name: str, entry: Mapping[str, Any]) -> None:
    """A ``stale-lock`` issue, and the claims of the entry's outputs."""
    dvcfile, lock = reading.rel(file.path), reading.rel(file.lock_path)
    line = reading.lines.line(file.lock_path, "stages", name)
    source = SourceRef(lock, line, f"stale entry `{name}` out")
    claimer = address(dvcfile, name)
    evidence = [Evidence("lock entry", name, str(SourceRef(lock, line)))]
    for item in entry.get("outs") or ():
        if not (isinstance(item, Mapping) and isinstance(item.get("path"), str)):
            continue
        path = reading.repo_path(item["path"], os.path.dirname(file.path), source, "lock out")
        if path is None:
            continue
        digest = entry_digest(item)
        reading.ledger.add(OutputClaim(path, claimer, STALE, digest, source))
        shown = ", ".join(f"{a}:{v}" for a, v in digest.items()) or "no digest"
        evidence.append(Evidence("out", f"{path} ({shown})", str(source)))
    message = f"`{lock}` has an entry for stage `{name}`, which `{dvcfile}` does not define"
    reading.graph.issues.append(Issue("stale-lock", claimer, message, tuple(evidence)))


def entry_digest(item: Mapping[str, Any]) -> dict[str, str]:
    """The digest of a lock entry's dep or out, named as DVC reads it (``md5-dos2unix`` for
    DVC 2 entries, which have no ``hash: md5``)."""
    value = item.get("md5")
    if not isinstance(value, str):
        return {}
    return {"md5" if item.get("hash") == "md5" else "md5-dos2unix": value}
