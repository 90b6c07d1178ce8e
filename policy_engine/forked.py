"""Work done by a forked child, its result sent back pickled (whole, or in parts).

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
written, and this process reads the whole file once the child has ended (a child
of :func:`start`; one of :func:`stream` is read as it writes, see below).

A child started by :func:`stream` sends its result in parts (the items of an
iterator), each pickled once it is made and announced through a pipe by where it
ends in the file: :meth:`Child.parts` gives each as soon as it is written, so
that this process can use the first parts while the child makes the others.

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
from collections.abc import Callable, Generator, Iterable
from typing import Generic, TypeVar

R = TypeVar("R")

_IN_CHILD = False


def can_fork() -> bool:
    """Linux, this process runs no other thread, and it is not itself a forked child."""
    single = threading.active_count() == 1
    return single and not _IN_CHILD and sys.platform.startswith("linux")


class Child(Generic[R]):
    """A forked child computing one result, or its parts (see the module doc)."""

    def __init__(self, pid: int, sent: int, ends: int) -> None:
        # the file the child writes into; the pipe telling where each part ends in it
        self.pid, self._sent, self._ends = pid, sent, ends
        self._done = False
        self.failed = False  # once :meth:`parts` has ended: the child failed in any way

    def collect(self) -> R | None:
        """The child's result (its one part), once it has ended; None when it failed."""
        parts = list(self.parts())
        return parts[0] if len(parts) == 1 and not self.failed else None

    def parts(self) -> Generator[R, None, None]:
        """Each part the child sends, as soon as it is written; once they end, ``failed``
        says whether the child failed in any way (those given are whole: the rest is lost)."""
        if self._done:
            return
        self._done = True
        try:
            with os.fdopen(self._ends, "rb") as ends:
                start = 0
                while len(end := ends.read(8)) == 8:
                    stop = int.from_bytes(end, "little")
                    yield pickle.loads(os.pread(self._sent, stop - start, start))
                    start = stop
        except BaseException as exc:  # a damaged message, or the parts left: stop it
            self.failed = True
            os.kill(self.pid, signal.SIGKILL)
            if not isinstance(exc, Exception):
                raise
        finally:
            os.close(self._sent)
            _, status = os.waitpid(self.pid, 0)
        self.failed = self.failed or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0

    def abandon(self) -> None:
        """Stop the child and reap it, if its result was not taken (else nothing)."""
        if self._done:
            return
        self._done = True
        os.close(self._sent)
        os.close(self._ends)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def start(compute: Callable[[], R]) -> Child[R] | None:
    """A child forked to compute ``compute()``; None when no child could be forked
    (:func:`can_fork` false, no file in memory could be made, or the fork failed): the
    caller computes it itself."""
    return _fork(lambda: (compute(),))


def stream(compute: Callable[[], Iterable[R]]) -> Child[R] | None:
    """As :func:`start`, the child sending each item of ``compute()`` as a part, as soon as
    it is made (see :meth:`Child.parts`)."""
    return _fork(compute)


def _fork(compute: Callable[[], Iterable[R]]) -> Child[R] | None:
    if not can_fork():
        return None
    opened: list[int] = []
    try:
        opened.append(os.memfd_create("mlpolicy-result", os.MFD_CLOEXEC))
        opened.extend(os.pipe())
        pid = os.fork()
    except OSError:
        for fd in opened:
            os.close(fd)
        return None
    sent, read, write = opened
    if pid:
        os.close(write)
        return Child(pid, sent, read)
    _child(compute, sent, (read, write))  # never returns
    raise AssertionError("unreachable")  # pragma: no cover


def _child(compute: Callable[[], Iterable[R]], sent: int, ends: tuple[int, int]) -> None:
    """Compute, send, and leave at once: no parent's ``finally``, no buffers flushed twice."""
    global _IN_CHILD
    status = 1
    try:
        _IN_CHILD = True
        os.close(ends[0])
        with os.fdopen(sent, "wb") as file, os.fdopen(ends[1], "wb", buffering=0) as told:
            for part in compute():
                file.write(pickle.dumps(part, pickle.HIGHEST_PROTOCOL))
                file.flush()
                told.write(file.tell().to_bytes(8, "little"))  # 8 bytes: one write, whole
        status = 0
    finally:
        os._exit(status)
