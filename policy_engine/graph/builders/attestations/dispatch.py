"""Finding attestation files and reading each one by its content, in parallel when many.

Files: every path given; under a directory (recursively, sorted, hidden folders
and symlinked folders not entered), files ending in :data:`SEARCH_SUFFIXES`. A
file reached twice is read once. A symlinked file found there must resolve inside
the repository or that directory: one leaving both is an ``InputError`` located
at it, and nothing is read.

Content: a whole JSON document, or JSON Lines (one document per line) when the
name ends in ``.jsonl`` or when more JSON follows the first document. Each
document is opened by :func:`.envelopes.open_document` and dispatched on the
``_type`` of what was signed: ``link``, ``layout``, or an in-toto Statement.

Unrecognised content is *skipped with a note* when it is clearly not an
attestation (see :mod:`.envelopes`) and it is a line of a bundle or a file found
by searching a directory. A file named explicitly must be an attestation. Any
document that looks like an attestation but is malformed (and any invalid JSON)
is an ``InputError`` naming the file and, in a bundle, the line.

With many files, they are read by a pool of processes; results come back in
file order, so the graph is the same whatever the number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_engine import inputs
from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations import SEARCH_SUFFIXES
from policy_engine.graph.builders.attestations.confine import Normaliser
from policy_engine.graph.builders.attestations.envelopes import (
    STATEMENT_TYPES,
    Foreign,
    Signed,
    open_document,
)
from policy_engine.graph.builders.attestations.layouts import LoadedLayout, load_layout
from policy_engine.graph.builders.attestations.links import LoadedLink, load_link
from policy_engine.graph.builders.attestations.signatures import check_signatures
from policy_engine.graph.builders.attestations.statements import Statement, parse_statement
from policy_engine.graph.model import Issue, SignatureCheck
from policy_engine.graph.paths import PathEscape, refuse_unusable, shown
from policy_engine.keys import Keyring

JSON_LINES_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Found:
    """A file to read: its path, its display name, and whether it was named explicitly."""

    path: Path
    file: str
    explicit: bool


@dataclass(frozen=True)
class LoadedStatement:
    """A statement read from a file (``file`` has ``#N`` for line N of a bundle)."""

    file: str
    line: int | None
    envelope: str
    statement: Statement
    signatures: tuple[SignatureCheck, ...]


@dataclass
class FileResult:
    """Everything read from one file, or the error that stopped it."""

    file: str
    links: list[LoadedLink] = field(default_factory=list)
    layouts: list[LoadedLayout] = field(default_factory=list)
    statements: list[LoadedStatement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    error: tuple[str, str | None] | None = None  # an InputError's message and location


# -- finding files ---------------------------------------------------------------------
def find_files(root: Path, paths: Iterable[Path]) -> list[Found]:
    """The files to read under ``paths`` (see the module docstring), in a stable order."""
    found: list[Found] = []
    seen: set[tuple[int, int] | str] = set()
    display = Display(root)
    for path in paths:
        try:
            refuse_unusable(str(path))
        except PathEscape as exc:
            raise InputError(f"attestation path: {exc}", None) from None
        if not os.path.lexists(path):
            raise InputError("attestation path not found", str(path))
        explicit = not path.is_dir()
        for candidate, shown_as in [(path, None)] if explicit else _walk(path, display):
            if not explicit and os.path.islink(candidate):  # else inside ``path`` by the walk
                file = shown_as or display(candidate)
                inputs.confine(candidate, (root, path), file, "the attestation file")
            identity = _identity(candidate)
            if identity not in seen:
                seen.add(identity)
                found.append(Found(candidate, shown_as or display(candidate), explicit))
    return found


def _identity(path: Path) -> tuple[int, int] | str:
    """The file itself (device, inode), so a file reached twice is read once."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)  # reading it will report the error
    return (info.st_dev, info.st_ino)


def _walk(directory: Path, display: Display) -> Iterator[tuple[Path, str | None]]:
    """Each file to read under ``directory``, with its display name when its folder's
    gives it (else None: ``display`` names it)."""

    def fail(error: OSError) -> None:
        raise InputError(f"cannot list directory: {error.strerror}", str(error.filename))

    for current, dirnames, filenames in os.walk(directory, onerror=fail):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        prefix = display.folder(current)
        for name in sorted(filenames):
            if name.endswith(SEARCH_SUFFIXES):
                yield Path(current, name), None if prefix is None else prefix + name


class Display:
    """How files are named: relative to the root (posix) when inside it, else as given."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.abspath(root)
        self.real_root = os.path.realpath(root)

    def __call__(self, path: Path) -> str:
        for base, target in (
            (self.root, os.path.abspath),
            (self.real_root, os.path.realpath),
        ):
            relative = _relative(target(path), base)
            if relative is not None:
                return relative
        return str(path)

    def folder(self, folder: str) -> str | None:
        """What the names of the files in ``folder`` start with, when the folder is in the
        root as written (a file there is named by that, whatever it links to), else None."""
        relative = _relative(os.path.abspath(folder), self.root)
        return None if relative is None else "" if relative == "." else relative + "/"


def _relative(target: str, base: str) -> str | None:
    """``target`` relative to ``base`` (both absolute and normalised), posix, or None."""
    if target == base:
        return "."
    if not target.startswith(base.rstrip(os.sep) + os.sep):
        return None
    return target[len(base.rstrip(os.sep)) + 1 :].replace(os.sep, "/")


_Reader = tuple[Keyring, Normaliser, bool]  # the keys, the paths' normaliser, keep signed bytes


# -- reading one file ---------------------------------------------------------------------
def load_file(
    found: Found,
    keyring: Keyring,
    normaliser: Normaliser,
    lines: tuple[int, bytes] | None = None,
    proofs: bool = True,
) -> FileResult:
    """Read one file, or with ``lines`` (first line number, bytes) that part of a bundle.

    Without ``proofs``, links do not keep their signed bytes (only layouts need
    them, and they are rare: the file is read again then). An ``InputError`` is
    returned in ``error``: it must cross process boundaries.
    """
    result = FileResult(found.file)
    try:
        if lines is None:
            bundle, documents = _documents(inputs.read_bytes(found.path, found.file), found)
        else:
            bundle, documents = True, inputs.json_lines(lines[1], found.file, lines[0])
        _load(found, bundle, documents, (keyring, normaliser, proofs), result)
    except InputError as error:
        return FileResult(found.file, error=(error.message, error.location))
    return result


def _load(
    found: Found,
    bundle: bool,
    documents: Iterator[tuple[int | None, Any]],
    reader: _Reader,
    result: FileResult,
) -> None:
    for line, document in documents:
        where = f"{found.file}:{line}" if line else found.file
        name = f"{found.file}#{line}" if line else found.file
        opened = open_document(document, where)
        if isinstance(opened, Foreign):
            if found.explicit and not bundle:
                raise InputError(f"not an attestation: {opened.reason}", where)
            result.notes.append(f"{where}: skipped, not an attestation: {opened.reason}")
            continue
        _dispatch(opened, name, where, line, reader, result)


def is_bundle_name(path: Path) -> bool:
    """Whether the name says JSON Lines (``*.jsonl``, so ``*.intoto.jsonl``)."""
    return path.name.endswith(JSON_LINES_SUFFIX)


def _documents(data: bytes, found: Found) -> tuple[bool, Iterator[tuple[int | None, Any]]]:
    """Whether the file is JSON Lines, and its (line or None, document) pairs."""
    if is_bundle_name(found.path):
        return True, inputs.json_lines(data, found.file)
    try:
        document = inputs.loads(data, found.file)
    except InputError as error:
        if inputs.is_extra_data(error):
            return True, inputs.json_lines(data, found.file)
        raise
    return False, iter([(None, document)])


def merge(parts: list[FileResult]) -> FileResult:
    """One file's result from the results of its parts, in order; the first error wins."""
    if len(parts) == 1:
        return parts[0]
    merged = FileResult(parts[0].file)
    for part in parts:
        if part.error is not None:
            return FileResult(part.file, error=part.error)
        merged.links += part.links
        merged.layouts += part.layouts
        merged.statements += part.statements
        merged.notes += part.notes
        merged.issues += part.issues
    return merged


def _dispatch(
    signed: Signed,
    name: str,
    where: str,
    line: int | None,
    reader: _Reader,
    result: FileResult,
) -> None:
    keyring, normaliser, proofs = reader
    payload = signed.payload
    if not isinstance(payload, dict):
        raise InputError("the signed payload is not a JSON object", where)
    kind = payload.get("_type")
    if kind == "link":
        link = load_link(signed, name, where, keyring, normaliser, proofs)
        result.links.append(link)
        result.issues += link.issues
    elif kind == "layout":
        layout = load_layout(signed, name, where, keyring)
        result.layouts.append(layout)
        result.issues += layout.issues
        result.notes += layout.notes
    elif kind in STATEMENT_TYPES:
        statement = parse_statement(payload, where)
        what = f"statement `{statement.predicate_type}`"
        checks, bad = check_signatures(keyring, signed, name, what)
        result.statements.append(LoadedStatement(name, line, signed.envelope, statement, checks))
        result.issues += bad
        result.notes += [f"{where}: {note}" for note in statement.notes]
    else:
        raise InputError(f"unsupported signed in-toto `_type` `{shown(str(kind))}`", where)
