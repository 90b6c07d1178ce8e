"""Bounds on what a pipeline may make DVC expand and load (hostile input).

A few lines of ``dvc.yaml`` can ask DVC's resolver for millions of stages (a
``matrix`` of a few lists, a ``foreach`` over a long list or a vars file), and
a ``dvc.lock`` can hold any number of entries. Each is counted before DVC
expands or validates anything, from the data DVC's resolver already has (a
``foreach``'s items, a ``matrix``'s lists, resolved as DVC resolves them):

* :data:`MAX_EXPANDED_STAGES`: stages one ``foreach`` or ``matrix`` generates;
* :data:`MAX_PIPELINE_STAGES`: stages of one ``dvc.yaml``, all generated;
* :data:`MAX_LOCK_ENTRIES`: entries of one ``dvc.lock``;
* :data:`MAX_PROJECT_STAGES`: stages of one DVC project (pipelines and ``.dvc`` files).

Over a bound, loading stops with :class:`LimitError` naming the limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sized
from typing import Any

MAX_EXPANDED_STAGES = 10_000
MAX_PIPELINE_STAGES = 25_000
MAX_LOCK_ENTRIES = 25_000
MAX_PROJECT_STAGES = 100_000


class LimitError(ValueError):
    """A DVC file over one of the bounds; ``path`` is the file, ``key`` the stage if any."""

    def __init__(self, message: str, path: str, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


def check_expansion(resolver: Any, path: str) -> int:
    """The number of stages DVC's ``resolver`` of pipeline ``path`` will generate, bounded."""
    total = 0
    for name, definition in resolver.definitions.items():
        count = generated(definition)
        if count > MAX_EXPANDED_STAGES:
            message = (
                f"stage `{name}` would generate {count} stages, more than "
                f"MAX_EXPANDED_STAGES ({MAX_EXPANDED_STAGES}): the pipeline was not loaded"
            )
            raise LimitError(message, path, name)
        total += count
        if total > MAX_PIPELINE_STAGES:
            message = (
                f"the pipeline would have more than MAX_PIPELINE_STAGES "
                f"({MAX_PIPELINE_STAGES}) stages: it was not loaded"
            )
            raise LimitError(message, path, name)
    return total


def generated(definition: Any) -> int:
    """How many stages one of DVC's stage definitions stands for, before it expands them.

    A ``foreach`` one per item, a ``matrix`` one per combination (the product of
    its lists' lengths), any other one. A list or mapping written out is counted
    as it is (resolving keeps its length); an interpolated one is resolved as
    DVC resolves it. What DVC will refuse (not a list or a mapping) counts as
    one: DVC raises its own error when it expands it.
    """
    from dvc.parsing import ForeachDefinition, MatrixDefinition

    if isinstance(definition, ForeachDefinition):
        items = definition.foreach_data
        return _length(definition.resolved_iterable if isinstance(items, str) else items)
    if isinstance(definition, MatrixDefinition):
        lists = definition.matrix_data
        if not isinstance(lists, Mapping) or any(isinstance(v, str) for v in lists.values()):
            lists = definition.resolved_iterable
        if not isinstance(lists, Mapping):
            return 1
        return math.prod(_length(value) for value in lists.values())
    return 1


def _length(items: Any) -> int:
    return len(items) if isinstance(items, Sized) and not isinstance(items, str) else 1


def check_lock_entries(data: Any, path: str) -> None:
    """Refuse a lock (``schema: '2.0'``, or DVC 1's top-level entries) over the bound."""
    if not isinstance(data, Mapping):
        return
    stages = data.get("stages") if "schema" in data else data
    count = len(stages) if isinstance(stages, Mapping) else 0
    if count > MAX_LOCK_ENTRIES:
        message = (
            f"the lock has {count} entries, more than MAX_LOCK_ENTRIES "
            f"({MAX_LOCK_ENTRIES}): it was not read"
        )
        raise LimitError(message, path)


def check_project_stages(count: int, path: str) -> None:
    """Refuse a project whose DVC files, up to ``path``, hold more stages than the bound."""
    if count > MAX_PROJECT_STAGES:
        message = (
            f"the DVC project has more than MAX_PROJECT_STAGES ({MAX_PROJECT_STAGES}) "
            "stages: it was not loaded"
        )
        raise LimitError(message, path)
