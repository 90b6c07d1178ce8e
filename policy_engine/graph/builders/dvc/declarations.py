"""What pipeline files declare artifacts to be: artifacts, metrics, plots, annotated outputs.

Recorded as :class:`Declaration` s on the artifact nodes, with where they were
declared: the top-level sections of a ``dvc.yaml`` (paths relative to its
folder), and a stage's or ``.dvc`` file's outputs listed as metrics or plots or
annotated with ``desc``/``type``/``labels``/``meta``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from policy_engine.graph.builders.dvc.context import Reading
from policy_engine.graph.builders.dvc.lines import TOP
from policy_engine.graph.model import Declaration, SourceRef

if TYPE_CHECKING:
    from policy_engine.graph.builders.dvc.files import DvcFile
    from policy_engine.graph.builders.dvc.records import Item
    from policy_engine.graph.flows import Flows


def declare_sections(reading: Reading, file: DvcFile) -> None:
    """The top-level ``artifacts``, ``metrics`` and ``plots`` of a ``dvc.yaml``."""
    dvcfile, folder = reading.rel(file.path), os.path.dirname(file.path)

    def declare(
        raw: str, role: str, key: tuple[str, str], name: str, info: Mapping[str, Any]
    ) -> None:
        line = reading.lines.line(file.path, *key)
        source = SourceRef(dvcfile, line, f"dvc.yaml {role}")
        path = None if "://" in raw else reading.repo_path(raw, folder, source, role)
        if path is not None:
            reading.graph.add_declaration(path, _declaration(role, source, name, info))

    for name, info in sorted(file.artifacts.items()):
        if isinstance(info, Mapping) and isinstance(info.get("path"), str):
            declare(info["path"], "artifact", ("artifacts", name), name, info)
    for raw in file.metrics:
        declare(raw, "metrics", (TOP, "metrics"), "", {})
    for plot_id, raw in plot_files(file.plots):
        declare(raw, "plots", (TOP, "plots"), plot_id, {})


def declare_out(into: Flows, out: Item, path: str, source: SourceRef) -> None:
    """A stage's or ``.dvc`` file's output listed as metrics or plots, or annotated
    (declared ``into`` the graph, or what adds a file's stages to it)."""
    role = "metrics" if out.metric else "plots" if out.plot else "out"
    if role != "out" or out.annotations:
        into.add_declaration(path, _declaration(role, source, "", out.annotations))


def plot_files(plots: tuple[Any, ...]) -> Iterator[tuple[str, str]]:
    """(plot id, file) of each file a top-level ``plots`` list names, as DVC reads it.

    An entry is a path, or ``{id: props}`` whose ``x``/``y`` map files to
    columns; without such files the id is itself the path.
    """
    for entry in plots:
        if isinstance(entry, str):
            yield "", entry
            continue
        for plot_id, props in entry.items() if isinstance(entry, Mapping) else ():
            files: dict[str, None] = {}
            for axis in ("x", "y"):
                value = props.get(axis) if isinstance(props, Mapping) else None
                if isinstance(value, Mapping):
                    files.update((str(file), None) for file in value)
            for file in files or (str(plot_id),):
                yield str(plot_id), file


def _declaration(role: str, source: SourceRef, name: str, info: Mapping[str, Any]) -> Declaration:
    labels = info.get("labels") or ()
    return Declaration(
        role=role,
        source=source,
        name=name,
        type=info.get("type"),
        desc=info.get("desc"),
        labels=tuple(str(label) for label in labels),
        meta=dict(info.get("meta") or {}),
    )
