"""Reading many attestations with processes beside this one; results in file order.

Signature verification is CPU-bound, so threads would not help. When this
process works on something else meanwhile (``background``: the build's other
builders, see ``graph.build.building``), on Linux with no other thread, the
files are read by forked children (:mod:`policy_engine.forked`), one per
worker, each holding its share of the files from the start and reading it with
no help from this process (a pool fed by this process's threads would wait for
the interpreter while the builders hold it), then sending its results pickled
in one piece; they are taken when the attestation builder asks, and a share
whose child failed in any way is read here. Otherwise a pool of processes
reads them: on Linux, with no other thread, its workers are forked (they start
at once, with everything imported); else they are spawned, which re-imports
the program's main module: a script calling the API must then guard its entry
point (``if __name__ == "__main__":``), and if the pool cannot start, files are
read in this process. Each worker receives the trusted keys and the root once,
then tasks: a batch of small files, or a run of lines of a large JSON-Lines
bundle (one file may hold thousands of attestations). Links come back without
their signed bytes (see :func:`.dispatch.load_file`), made light to send (see
:func:`_lighter`): :meth:`Reading.sent` gives them so, :meth:`Reading.results`
as :class:`FileResult` s.

``MLPOLICY_WORKERS`` is the number of reading processes (children or pool
workers); unset, a CPU each, less the CPU this process keeps busy in the
background. Below :data:`PARALLEL_MIN_ITEMS` (files, counting a large bundle
by its lines), with one worker in the foreground, or with ``MLPOLICY_WORKERS=1``
in the foreground, everything runs in this process. Either way the results are
the same list, in the same order: one :class:`FileResult` per file, its parts
merged in line order.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from policy_engine import forked, inputs
from policy_engine.errors import InputError
from policy_engine.forked import Child
from policy_engine.graph.builders import configured_workers, cpu_count
from policy_engine.graph.builders.attestations.confine import Normaliser
from policy_engine.graph.builders.attestations.dispatch import (
    FileResult,
    Found,
    is_bundle_name,
    load_file,
    merge,
)
from policy_engine.graph.builders.attestations.links import LoadedLink
from policy_engine.graph.model import Attestation
from policy_engine.keys import Keyring

PARALLEL_MIN_ITEMS = 1000
FILES_PER_TASK = 256
LINES_PER_TASK = 512
SPLIT_BYTES = 256 * 1024
Unit = tuple[int, Found, tuple[int, bytes] | None]  # (file index, file, lines or None)
Sent = FileResult | Attestation  # a result, or a file's one link alone (see :func:`_lighter`)
Read = tuple[int, Sent]  # (file index, the result of one unit)
_WORKER: dict[str, object] = {}


def default_workers(items: int, beside: int = 0) -> int:
    """``MLPOLICY_WORKERS`` when set, else 1 below :data:`PARALLEL_MIN_ITEMS`, else a CPU
    each, less the ``beside`` CPUs this process keeps busy meanwhile (at least one)."""
    configured = configured_workers()
    if configured:
        return configured
    return 1 if items < PARALLEL_MIN_ITEMS else max(1, min(8, cpu_count() - beside))


def load_files(
    found: Sequence[Found], keyring: Keyring, root: Path, workers: int | None = None
) -> list[FileResult]:
    """Read every file (see the module docstring); ``workers`` None: :func:`default_workers`."""
    with closing(iter_files(found, keyring, root, workers)) as results:
        return list(results)


def iter_files(
    found: Sequence[Found], keyring: Keyring, root: Path, workers: int | None = None
) -> Generator[FileResult, None, None]:
    """As :func:`load_files`, one file at a time as soon as it is read (close it when done)."""
    reading = Reading(found, keyring, root, workers)
    try:
        yield from reading.results()
    finally:
        reading.close()


class Reading:
    """Files whose reading has begun: children or a pool (when used) are at work at once.

    :meth:`results` gives them in order; :meth:`close` stops the children or the pool
    and reaps them, whether the results were taken or not (call it in every case).
    """

    def __init__(
        self,
        found: Sequence[Found],
        keyring: Keyring,
        root: Path,
        workers: int | None = None,
        background: bool = False,
    ) -> None:
        """``background``: this process works on something else meanwhile, so the readers
        take one CPU fewer, one reader is worth starting, and they are forked children."""
        self._units = _units(found)
        self._keyring, self._root = keyring, root
        items = _items(self._units)
        if workers is None:
            workers = default_workers(items, beside=1 if background else 0)
        self._pool: ProcessPoolExecutor | None = None
        self._batches: Iterator[list[Read]] = iter(())
        self._children: list[tuple[list[Unit], Child[list[Read]] | None]] = []
        least = 1 if background and items >= PARALLEL_MIN_ITEMS else 2
        if workers < least or len(self._units) < 2:
            return
        if background and forked.can_fork():
            self._children = [(share, self._fork(share)) for share in _shares(self._units, workers)]
        else:
            self._start_pool(workers)

    def results(self) -> Generator[FileResult, None, None]:
        """One :class:`FileResult` per file, in file order (the pool is closed at the end)."""
        with closing(self.sent()) as sent:
            yield from (full(result) for result in sent)

    def sent(self) -> Generator[Sent, None, None]:
        """As :meth:`results`, but a file whose result is one link and nothing else (no
        issue, note or signed bytes) given as that link's attestation, as it was sent."""
        try:
            yield from in_order(self._stream())
        finally:
            self.close()

    def close(self) -> None:
        """Stop the pool, cancelling what it has not begun, and wait for its workers to end;
        stop and reap the forked readers whose results were not taken."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for _, child in self._children:
            if child is not None:
                child.abandon()
        self._children = []

    def _fork(self, share: list[Unit]) -> Child[list[Read]] | None:
        """A child reading ``share`` alone (None: not forked; it is read here)."""
        return forked.start(functools.partial(read_share, share, self._keyring, self._root))

    def _start_pool(self, workers: int) -> None:
        fork = sys.platform.startswith("linux") and threading.active_count() == 1
        context = multiprocessing.get_context("fork" if fork else "spawn")
        self._pool = ProcessPoolExecutor(workers, context, _start, (self._keyring, self._root))
        try:  # every task is submitted now: the workers start at once
            self._batches = self._pool.map(_load_units, _tasks(self._units))
        except BrokenProcessPool:
            self.close()  # everything is read in this process

    def _stream(self) -> Iterator[Read]:
        """(file index, result) per unit, in order: from the children or the pool, and here
        what a failed child or a broken pool left."""
        if self._children:
            yield from self._from_children()
            return
        done = 0
        try:
            for batch in self._batches:
                for result in batch:
                    done += 1
                    yield result
        except BrokenProcessPool:
            pass  # the rest is read in this process
        self.close()
        yield from self._here(self._units[done:])

    def _from_children(self) -> Iterator[Read]:
        """Each child's results in turn; a share whose child failed is read here."""
        for share, child in self._children:
            read = child.collect() if child is not None else None
            yield from self._here(share) if read is None else read
        self._children = []

    def _here(self, units: list[Unit]) -> Iterator[Read]:
        """``units`` read in this process."""
        return read_here(units, self._keyring, self._root)


def read_here(units: list[Unit], keyring: Keyring, root: Path) -> Iterator[Read]:
    """``units`` read in this process, signed bytes kept (what a failed reader left)."""
    normaliser = Normaliser(root)
    for index, each, lines in units:
        yield index, load_file(each, keyring, normaliser, lines)


def in_order(reads: Iterable[Read]) -> Iterator[Sent]:
    """One result per file of ``reads`` (in file order): a file read in parts (runs of
    lines of a bundle) merged, any other as it was sent."""
    for _, group in groupby(reads, key=itemgetter(0)):
        parts = [result for _, result in group]
        yield parts[0] if len(parts) == 1 else merge([full(part) for part in parts])


def shares(found: Sequence[Found], count: int) -> list[list[Unit]]:
    """The units of ``found`` in ``count`` shares of about equal work, as forked readers
    in the background take them (empty shares last): below :data:`PARALLEL_MIN_ITEMS`
    one share, unless ``MLPOLICY_WORKERS`` is set (see :func:`default_workers`)."""
    units = _units(found)
    split = _shares(units, min(count, default_workers(_items(units), beside=1)))
    return split + [[] for _ in range(count - len(split))]


def _items(units: list[Unit]) -> int:
    """The work of ``units``: a file each, a run of a bundle's lines as a task's worth."""
    return sum(1 if unit[2] is None else LINES_PER_TASK for unit in units)


def _shares(units: list[Unit], count: int) -> list[list[Unit]]:
    """``units`` in ``count`` runs (or fewer) of about equal work, a run of lines as a task."""
    work = [1 if unit[2] is None else LINES_PER_TASK for unit in units]
    goal, running = sum(work) / count, 0
    shares: list[list[Unit]] = [[]]
    for unit, weight in zip(units, work, strict=True):
        if running >= goal * len(shares) and len(shares) < count:
            shares.append([])
        shares[-1].append(unit)
        running += weight
    return shares


def read_share(units: list[Unit], keyring: Keyring, root: Path) -> list[Read]:
    """What a forked reader computes: ``units`` read as a worker of the pool reads them."""
    _start(keyring, root)
    return _load_units(units)


def _units(found: Sequence[Found]) -> list[Unit]:
    """Each file as one unit, but a large JSON-Lines bundle as runs of lines."""
    units: list[Unit] = []
    for index, each in enumerate(found):
        if not is_bundle_name(each.path) or _size(each.path) <= SPLIT_BYTES:
            units.append((index, each, None))
            continue
        try:
            lines = inputs.read_bytes(each.path, each.file).split(b"\n")
        except InputError:
            units.append((index, each, None))  # reading it again reports the error
            continue
        for start in range(0, len(lines), LINES_PER_TASK):
            chunk = b"\n".join(lines[start : start + LINES_PER_TASK])
            units.append((index, each, (start + 1, chunk)))
    return units


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _tasks(units: list[Unit]) -> list[list[Unit]]:
    """Runs of lines alone; whole files in batches of :data:`FILES_PER_TASK`."""
    tasks: list[list[Unit]] = []
    for unit in units:
        whole = unit[2] is None and tasks and tasks[-1][-1][2] is None
        if whole and len(tasks[-1]) < FILES_PER_TASK:
            tasks[-1].append(unit)
        else:
            tasks.append([unit])
    return tasks


def _start(keyring: Keyring, root: Path) -> None:
    _WORKER["keyring"] = keyring
    _WORKER["normaliser"] = Normaliser(root)


def _load_units(units: list[Unit]) -> list[Read]:
    keyring, normaliser = _WORKER["keyring"], _WORKER["normaliser"]
    assert isinstance(keyring, Keyring) and isinstance(normaliser, Normaliser)
    reads = [(i, load_file(f, keyring, normaliser, lines, proofs=False)) for i, f, lines in units]
    return _lighter(reads)


def full(result: Sent) -> FileResult:
    """The :class:`FileResult` of what was sent (a bare attestation: its file's one link)."""
    if isinstance(result, FileResult):
        return result
    return FileResult(result.file, links=[LoadedLink(result, None)])


def _lighter(reads: list[tuple[int, FileResult]]) -> list[Read]:
    """``reads``, made lighter to send and to take in: a file whose result is one link and
    nothing else is sent as the link's attestation; each link's signers are computed (and
    sent) by the reader. Equal digests are one dict already (see :mod:`.confine`): pickled,
    and unpickled, once."""
    for _, result in reads:
        for link in result.links:
            link.attestation.signers  # noqa: B018 - computed once, here (a cached property)
    return [(index, _bare(result)) for index, result in reads]


def _bare(result: FileResult) -> Sent:
    """The attestation of a file's one link when that is all its result holds, else the result."""
    if len(result.links) != 1 or result.layouts or result.statements or result.notes:
        return result
    link = result.links[0]
    if result.issues or link.issues or link.proof is not None or result.error is not None:
        return result
    return link.attestation if link.attestation.file == result.file else result
