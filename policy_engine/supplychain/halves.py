"""A large batch of files read on both CPUs: the tail by one forked child, the head here.

Reading a supply chain is decoding (JSON, base64) and signature checking, none of
which lets another thread run, so a second CPU needs a second process. On Linux,
when this process runs no other thread and may use two CPUs, the batch is cut in
two by weight (the files' sizes); a child forked with everything imported computes
the tail while this process computes the head, then sends its results back pickled
through a pipe, in one piece (equal objects it made shared, as its own results
shared them). Pickling costs the child more than unpickling costs this process,
so the head is a little more than half the weight (:data:`HEAD_SHARE`, which
ends both at about the same time on the benchmark's chains). The fork, the pipe
and the collection are :mod:`policy_engine.forked`'s.

Below :data:`MIN_WEIGHT`, when the machine is busy (a load average of as many
runnable processes as CPUs: the child would only take CPU from others, and the
pickling costs more in all), with ``MLPOLICY_WORKERS=1``, inside a child, or when
the fork fails, everything runs here; ``MLPOLICY_WORKERS=2`` (or more) forks
whatever the load. A child that fails in any way (an exception, a
crash, unreadable results) only means its tail is computed here afterwards, where
the same error is raised or reported as it would have been without a child: the
results are the same list either way.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import TypeVar

from policy_engine import forked
from policy_engine.graph.builders import configured_workers, cpu_count

T = TypeVar("T")
R = TypeVar("R")

MIN_WEIGHT = 4 * 1024 * 1024  # bytes of files: below it a fork costs more than it gains
HEAD_SHARE = 0.6  # of the weight, for this process


def map_halves(fn: Callable[[T], R], items: Sequence[T], weights: Sequence[int]) -> list[R]:
    """``[fn(item) for item in items]``, in order, the tail computed by a forked child
    when the batch weighs at least :data:`MIN_WEIGHT` (see the module doc)."""
    cut = _cut(weights) if _worth_forking(sum(weights)) else len(items)
    if cut >= len(items):
        return [fn(item) for item in items]
    child = forked.start(functools.partial(_map, fn, items[cut:]))
    try:
        head = [fn(item) for item in items[:cut]]
    except BaseException:
        if child is not None:
            child.abandon()
        raise
    tail: list[R] | None = child.collect() if child is not None else None
    return head + (tail if tail is not None else _map(fn, items[cut:]))


def _map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    return [fn(item) for item in items]


def _worth_forking(weight: int) -> bool:
    if weight < MIN_WEIGHT or not forked.can_fork() or cpu_count() < 2:
        return False
    configured = configured_workers()
    if configured is not None:
        return configured > 1
    return os.getloadavg()[0] < cpu_count()  # a CPU is free, on average


def _cut(weights: Sequence[int]) -> int:
    """The first index of the tail: the head holds about :data:`HEAD_SHARE` of the weight."""
    goal, running = HEAD_SHARE * sum(weights), 0
    for index, weight in enumerate(weights):
        if running + weight > goal:
            return max(index, 1)
        running += weight
    return len(weights)
