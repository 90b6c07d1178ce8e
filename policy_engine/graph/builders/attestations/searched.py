"""Finding and reading the attestation files in forked children, from the build's start.

When the build reads attestations in the background (``graph.build.building``)
and this process may fork (:func:`policy_engine.forked.can_fork`), the readers
are forked as soon as the keys and the root are known, before any file is
found: each child finds the files itself (:func:`.dispatch.find_files`: the same
walk, order and refusals), takes its share of them (share *k* of the same split
in every child, see :func:`.pool.shares`) and reads it, or sends the
``InputError`` finding them raised (raised when the attestation builder asks,
as it was when this process found them). The files found are not sent: this
process finds them again only when it needs them (layouts, rare, are read
again with their signed bytes; see :mod:`.builder`).

Each child sends its results in parts of :data:`PART_UNITS` files
(:func:`policy_engine.forked.stream`), so that the attestation builder adds the
links of the first parts to the graph while the children read the rest. A child
that failed in any way leaves the rest of its share to this process, which then
finds the files itself (raising what finding them raises) and reads them. The
results are those of :class:`.pool.Reading`.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

from policy_engine import forked
from policy_engine.errors import InputError
from policy_engine.forked import Child
from policy_engine.graph.builders.attestations import pool
from policy_engine.graph.builders.attestations.dispatch import Found, find_files
from policy_engine.graph.builders.attestations.pool import (
    PARALLEL_MIN_ITEMS,
    Read,
    Sent,
    default_workers,
    in_order,
    read_here,
    shares,
)
from policy_engine.keys import Keyring

PART_UNITS = 2048  # files (or runs of a bundle's lines) a child sends at once
# what a child sends: first the message and location of the InputError finding the
# files raised (None: none), then its share's results, a part at a time
Error = tuple[str, str | None] | None
Part = Error | list[Read]


class Search:
    """Attestation files being found and read by forked children (see the module doc).

    :meth:`files` and :meth:`sent` give what :class:`.pool.Reading` over the files
    found gives; :meth:`close` stops and reaps the children whatever was taken.
    """

    def __init__(
        self, root: Path, paths: Sequence[Path], keyring: Keyring, workers: int | None = None
    ) -> None:
        """Fork the readers: ``workers`` of them (None: as many as a large search takes)."""
        self._root, self._paths, self._keyring = root, tuple(paths), keyring
        self._count = workers or default_workers(PARALLEL_MIN_ITEMS, beside=1)
        args = (root, self._paths, keyring, self._count)
        self._children: list[Child[Part] | None] = [
            forked.stream(functools.partial(_search, args, share)) for share in range(self._count)
        ]
        self._opened: list[Opened] = []  # each child's, in order, once asked
        self._found: list[Found] | None = None

    def check(self) -> None:
        """Raise what finding the files raised, if anything."""
        sent, error, _ = self._open(0)
        if error is not None:
            raise InputError(*error)
        if not sent and self._found is None:  # the first child failed: found here
            self._found = find_files(self._root, self._paths)

    def files(self) -> list[Found]:
        """The files found (here again: the children send their results alone); raises
        what finding them raised."""
        self.check()
        if self._found is None:
            self._found = find_files(self._root, self._paths)
        return self._found

    def sent(self) -> Generator[Sent, None, None]:
        """One result per file, in file order (see :meth:`.pool.Reading.sent`)."""
        try:
            yield from in_order(self._reads())
        finally:
            self.close()

    def close(self) -> None:
        """Stop and reap the children whose results were not taken."""
        for _, _, parts in self._opened:
            parts.close()
        for child in self._children:
            if child is not None:
                child.abandon()

    def _reads(self) -> Iterator[Read]:
        """Each share's results in turn; what a failed child left is read here."""
        self.check()
        for index in range(self._count):
            sent, error, parts = self._open(index)
            done = 0  # the units of the share sent
            if sent and error is None:
                for part in parts:
                    assert isinstance(part, list)
                    yield from part
                    done += len(part)
            if not sent or error is not None or self._failed(index):
                units = shares(self.files(), self._count)[index][done:]
                yield from read_here(units, self._keyring, self._root)

    def _open(self, index: int) -> Opened:
        """Child ``index``'s first part taken (see :data:`Opened`), once."""
        while len(self._opened) <= index:
            child = self._children[len(self._opened)]
            parts = child.parts() if child is not None else _nothing()
            first = next(parts, _NOTHING)
            error = first if isinstance(first, tuple) else None
            self._opened.append((first is not _NOTHING, error, parts))
        return self._opened[index]

    def _failed(self, index: int) -> bool:
        child = self._children[index]
        return child is None or child.failed


_NOTHING: list[Read] = []  # what a child that sent nothing is taken to have sent first
# whether a child sent a first part, the error finding the files it sent, its parts to come
Opened = tuple[bool, Error, Generator[Part, None, None]]


def _nothing() -> Generator[Part, None, None]:
    yield from ()


def _search(args: tuple[Path, tuple[Path, ...], Keyring, int], index: int) -> Iterator[Part]:
    """What child ``index`` computes: whether the files were found, then its share of
    them read, a part at a time."""
    root, paths, keyring, count = args
    try:
        found = find_files(root, paths)
    except InputError as error:
        yield error.message, error.location
        return
    yield None
    units = shares(found, count)[index]
    for start in range(0, len(units), PART_UNITS):
        yield pool.read_share(units[start : start + PART_UNITS], keyring, root)
