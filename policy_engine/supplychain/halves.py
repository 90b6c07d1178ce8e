"""A large batch of files read on both CPUs: the tail by one forked child, the head here.

Reading a supply chain is decoding (JSON, base64) and signature checking, none of
which lets another thread run, so a second CPU needs a second process. On Linux,
when this process runs no other thread and may use two CPUs, the batch is cut in
two by weight (the files' sizes); a child forked with everything imported computes
the tail while this process computes the head, then sends its results back pickled
through a pipe, in one piece (equal objects it made shared, as its own results
shared them). Pickling costs the child more than unpickling costs this process,
so the head is a little more than half the weight (:data:`HEAD_SHARE`, which
ends both at about the same time on the benchmark's chains).

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

import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from policy_engine.graph.builders import configured_workers, cpu_count

T = TypeVar("T")
R = TypeVar("R")

MIN_WEIGHT = 4 * 1024 * 1024  # bytes of files: below it a fork costs more than it gains
HEAD_SHARE = 0.6  # of the weight, for this process
_IN_CHILD = False


def map_halves(fn: Callable[[T], R], items: Sequence[T], weights: Sequence[int]) -> list[R]:
    """``[fn(item) for item in items]``, in order, the tail computed by a forked child
    when the batch weighs at least :data:`MIN_WEIGHT` (see the module doc)."""
    cut = _cut(weights) if _can_fork(sum(weights)) else len(items)
    if cut >= len(items):
        return [fn(item) for item in items]
    child = _fork(fn, items[cut:])
    try:
        head = [fn(item) for item in items[:cut]]
    except BaseException:
        if child is not None:
            _abandon(child)
        raise
    tail: list[R] | None = _collect(child) if child is not None else None
    return head + (tail if tail is not None else [fn(item) for item in items[cut:]])


def _can_fork(weight: int) -> bool:
    if weight < MIN_WEIGHT or _IN_CHILD or not sys.platform.startswith("linux"):
        return False
    if threading.active_count() > 1 or cpu_count() < 2:  # forking with threads is unsafe
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


def _fork(fn: Callable[[T], R], tail: Sequence[T]) -> tuple[int, int] | None:
    """(child pid, read end of its pipe), the child computing ``tail``; None if no fork."""
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid:
        os.close(write)
        return pid, read
    _child(fn, tail, read, write)  # never returns
    raise AssertionError("unreachable")  # pragma: no cover


def _child(fn: Callable[[T], R], tail: Sequence[T], read: int, write: int) -> None:
    """Compute, send, and leave at once: no parent's ``finally``, no buffers flushed twice."""
    global _IN_CHILD
    status = 1
    try:
        _IN_CHILD = True
        os.close(read)
        data = pickle.dumps([fn(item) for item in tail], pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)


def _abandon(child: tuple[int, int]) -> None:
    """Stop a child whose results are no longer wanted (this process failed first)."""
    pid, read = child
    os.close(read)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _collect(child: tuple[int, int]) -> list[R] | None:
    """The child's results; None when it failed (its tail is then computed here)."""
    pid, read = child
    try:
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        results: list[R] = pickle.loads(data)
    except Exception:  # a damaged message is a failed child
        return None
    return results
