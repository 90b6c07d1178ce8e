"""Reading many attestations with a pool of processes; results in file order.

Signature verification is CPU-bound, so threads would not help. On Linux,
when this process runs no other thread, workers are forked (they start at
once, with everything imported); otherwise they are spawned, which re-imports
the program's main module: a script calling the API must then guard its entry
point (``if __name__ == "__main__":``), and if the pool cannot start, files are
read in this process. Each worker receives the trusted keys and the root once,
then tasks: a batch of small files, or a run of lines of a large JSON-Lines
bundle (one file may hold thousands of attestations). Links come back without
their signed bytes (see :func:`.dispatch.load_file`).

Below :data:`PARALLEL_MIN_ITEMS` (files, counting a large bundle by its lines),
with one worker, or with ``MLPOLICY_WORKERS=1``, everything runs in this
process. Either way the results are the same list, in the same order: one
:class:`FileResult` per file, its parts merged in line order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from itertools import groupby
from pathlib import Path

from policy_engine import inputs
from policy_engine.errors import InputError
from policy_engine.graph.builders import configured_workers, cpu_count
from policy_engine.graph.builders.attestations.confine import Normaliser
from policy_engine.graph.builders.attestations.dispatch import (
    FileResult,
    Found,
    is_bundle_name,
    load_file,
    merge,
)
from policy_engine.keys import Keyring

PARALLEL_MIN_ITEMS = 1000
FILES_PER_TASK = 256
LINES_PER_TASK = 512
SPLIT_BYTES = 256 * 1024
Unit = tuple[int, Found, tuple[int, bytes] | None]  # (file index, file, lines or None)
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
    """Files whose reading has begun: a pool (when one is used) is at work on them at once.

    :meth:`results` gives them in order; :meth:`close` stops the pool and reaps its
    workers, whether the results were taken or not (call it in every case).
    """

    def __init__(
        self,
        found: Sequence[Found],
        keyring: Keyring,
        root: Path,
        workers: int | None = None,
        background: bool = False,
    ) -> None:
        """``background``: this process works on something else meanwhile, so the pool
        takes one CPU fewer, and a pool of one worker is worth starting."""
        self._units = _units(found)
        self._keyring, self._root = keyring, root
        items = sum(1 if u[2] is None else LINES_PER_TASK for u in self._units)
        if workers is None:
            workers = default_workers(items, beside=1 if background else 0)
        self._pool: ProcessPoolExecutor | None = None
        self._batches: Iterator[list[tuple[int, FileResult]]] = iter(())
        least = 1 if background and items >= PARALLEL_MIN_ITEMS else 2
        if workers >= least and len(self._units) > 1:
            fork = sys.platform.startswith("linux") and threading.active_count() == 1
            context = multiprocessing.get_context("fork" if fork else "spawn")
            self._pool = ProcessPoolExecutor(workers, context, _start, (keyring, root))
            try:  # every task is submitted now: the workers start at once
                self._batches = self._pool.map(_load_units, _tasks(self._units))
            except BrokenProcessPool:
                self.close()  # everything is read in this process

    def results(self) -> Generator[FileResult, None, None]:
        """One :class:`FileResult` per file, in file order (the pool is closed at the end)."""
        try:
            for _, parts in groupby(self._stream(), key=lambda r: r[0]):
                yield merge([r for _, r in parts])
        finally:
            self.close()

    def close(self) -> None:
        """Stop the pool, cancelling what it has not begun, and wait for its workers to end."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _stream(self) -> Iterator[tuple[int, FileResult]]:
        """(file index, result) per unit, in order: from the pool, then here if it broke."""
        done = 0
        try:
            for batch in self._batches:
                for result in batch:
                    done += 1
                    yield result
        except BrokenProcessPool:
            pass  # the rest is read in this process
        self.close()
        normaliser = Normaliser(self._root)
        for index, each, lines in self._units[done:]:
            yield index, load_file(each, self._keyring, normaliser, lines)


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


def _load_units(units: list[Unit]) -> list[tuple[int, FileResult]]:
    keyring, normaliser = _WORKER["keyring"], _WORKER["normaliser"]
    assert isinstance(keyring, Keyring) and isinstance(normaliser, Normaliser)
    return [(i, load_file(f, keyring, normaliser, lines, proofs=False)) for i, f, lines in units]
