"""Work done by a forked child, its result sent back pickled in one piece.

Decoding, parsing and signature checking let no other thread run, so a second
CPU needs a second process. On Linux, when this process runs no other thread
(forking with threads is unsafe) and is not itself such a child, :func:`start`
forks a child, with everything imported and every input in memory, that
computes on its own (this process never feeds it: it cannot be starved by this
process holding the interpreter), pickles its result once, writes it to a file
in memory made for it (``memfd_create``) and exits at once (no ``finally`` or
buffer of this process run twice). Not a pipe: a large result would go through
it a pipe's worth at a time, the child waiting each time for this process to
read (and, on a busy machine, to be scheduled); the child ends as soon as it has
written, and this process reads the whole file once the child has ended.

:meth:`Child.collect` reads the result when this process wants it; None means
the child failed in any way (an exception, a crash, a kill, unreadable bytes):
the caller then computes the same work itself, so that what it reports (results,
errors, diagnostics) is what it would have been without a child. A child whose
result is not wanted is stopped and reaped by :meth:`Child.abandon`.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R")

_IN_CHILD = False


def can_fork() -> bool:
    """Linux, this process runs no other thread, and it is not itself a forked child."""
    single = threading.active_count() == 1
    return single and not _IN_CHILD and sys.platform.startswith("linux")


class Child(Generic[R]):
    """A forked child computing one result (see the module doc)."""

    def __init__(self, pid: int, sent: int) -> None:
        self.pid, self._sent = pid, sent  # the file the child writes its result into
        self._done = False

    def collect(self) -> R | None:
        """The child's result, once it has ended; None when it failed."""
        self._done = True
        with os.fdopen(self._sent, "rb") as sent:
            _, status = os.waitpid(self.pid, 0)
            if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
                return None
            sent.seek(0)  # the child's writes moved the offset it shares with this process
            data = sent.read()
        try:
            result: R = pickle.loads(data)
        except Exception:  # a damaged message is a failed child
            return None
        return result

    def abandon(self) -> None:
        """Stop the child and reap it, if its result was not collected (else nothing)."""
        if self._done:
            return
        self._done = True
        os.close(self._sent)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def start(compute: Callable[[], R]) -> Child[R] | None:
    """A child forked to compute ``compute()``; None when no child could be forked
    (:func:`can_fork` false, no file in memory could be made, or the fork failed): the
    caller computes it itself."""
    if not can_fork():
        return None
    try:
        sent = os.memfd_create("mlpolicy-result", os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(sent)
        return None
    if pid:
        return Child(pid, sent)
    _child(compute, sent)  # never returns
    raise AssertionError("unreachable")  # pragma: no cover


def _child(compute: Callable[[], R], sent: int) -> None:
    """Compute, send, and leave at once: no parent's ``finally``, no buffers flushed twice."""
    global _IN_CHILD
    status = 1
    try:
        _IN_CHILD = True
        data = pickle.dumps(compute(), pickle.HIGHEST_PROTOCOL)
        with os.fdopen(sent, "wb") as file:
            file.write(data)
        status = 0
    finally:
        os._exit(status)
