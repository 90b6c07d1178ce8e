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

A child that failed in any way leaves its share to this process, which then
finds the files itself (raising what finding them raises) and reads the share.
The results are those of :class:`.pool.Reading`.
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

# what a child sends: the message and location of the InputError finding the files
# raised (else None), and its share's results
Searched = tuple[tuple[str, str | None] | None, list[Read]]


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
        self._children: list[Child[Searched] | None] = [
            forked.start(functools.partial(_search, args, share)) for share in range(self._count)
        ]
        self._taken: dict[int, Searched | None] = {}  # what each child sent, once collected
        self._found: list[Found] | None = None

    def check(self) -> None:
        """Raise what finding the files raised, if anything."""
        first = self._collect(0)
        if first is not None and first[0] is not None:
            raise InputError(*first[0])

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
        for child in self._children:
            if child is not None:
                child.abandon()
        self._children, self._taken = [], {}

    def _reads(self) -> Iterator[Read]:
        """Each share's results in turn; a share whose child failed is read here."""
        self.check()
        for index in range(self._count):
            got = self._collect(index)
            if got is not None and got[0] is None:
                yield from got[1]
            else:  # failed, or (the folders changing) found an error the first did not
                units = shares(self.files(), self._count)[index]
                yield from read_here(units, self._keyring, self._root)

    def _collect(self, index: int) -> Searched | None:
        """Child ``index``'s result (taken once); None: it failed or was not forked."""
        if index not in self._taken:
            child = self._children[index] if index < len(self._children) else None
            self._taken[index] = child.collect() if child is not None else None
        return self._taken[index]


def _search(args: tuple[Path, tuple[Path, ...], Keyring, int], index: int) -> Searched:
    """What child ``index`` computes: the files found, and its share of them read."""
    root, paths, keyring, count = args
    try:
        found = find_files(root, paths)
    except InputError as error:
        return (error.message, error.location), []
    units = shares(found, count)
    return None, pool.read_share(units[index], keyring, root)
