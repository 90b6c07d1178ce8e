"""The input boundary: every file the engine reads from a repository is read here.

A repository may be hostile (a pull request), so a read is:

- **confined**: the path must resolve (through any symlink) inside one of the
  roots the caller allows (the repository, a path given on the command line,
  the bundled packs), else :class:`~policy_engine.errors.InputError`;
- **regular**: opened without blocking and refused unless it is a regular file
  (a FIFO, ``/dev/zero``, a folder or a socket is never read);
- **bounded**: at most a given number of bytes (checked before and while reading).

JSON is strict and bounded (:func:`loads`: no duplicate keys, depth
:data:`MAX_JSON_DEPTH`, numbers of at most :data:`MAX_NUMBER_CHARS`); YAML is
read with the safe loader and an alias budget (:func:`load_yaml`,
:func:`check_aliases`). Every refusal is an ``InputError`` located at the file
(``file[:line[:column]]``) whose message names the limit, never the content.
``tests/test_input_boundary.py`` fails when a module elsewhere reads a file itself.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError

if TYPE_CHECKING:
    import yaml

MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_NUMBER_CHARS = 100
MAX_ALIAS_NODES = 100_000
# Binary on Windows; a FIFO or a terminal opens without blocking or becoming ours.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_NO_FOLLOW_FLAGS = _OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0)  # a final symlink is not followed

PathLike = str | os.PathLike[str]


# -- where a file may be ----------------------------------------------------------------------
def is_inside(path: PathLike, root: PathLike) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or below it."""
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def confine(path: PathLike, roots: Sequence[PathLike], file: str, what: str = "the file") -> None:
    """Raise a located ``InputError`` unless ``path`` resolves inside one of ``roots``."""
    if not any(is_inside(path, root) for root in roots):
        raise InputError(f"{what} leaves the repository; it was not read", file)


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a folder or a socket: it is never read."""


def open_regular(path: PathLike, follow: bool = True) -> int:
    """A read-only descriptor of the regular file at ``path`` (with ``follow`` false, not
    through a final symlink); raises ``OSError`` (:class:`NotRegularFile` for any other kind).

    The open never blocks (a FIFO); the kind is checked on the open descriptor.
    """
    return open_regular_status(path, follow)[0]


def open_regular_status(path: PathLike, follow: bool = True) -> tuple[int, os.stat_result]:
    """:func:`open_regular`, with the status of the open descriptor (the one it checked)."""
    fd = os.open(path, _OPEN_FLAGS if follow else _NO_FOLLOW_FLAGS)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFile(f"not a regular file: {path}")
    except BaseException:
        os.close(fd)
        raise
    return fd, status


def open_binary(path: PathLike, follow: bool = True) -> io.FileIO:
    """:func:`open_regular` as an unbuffered binary file (for streaming a large file)."""
    return open(open_regular(path, follow), "rb", buffering=0, closefd=True)


# -- reading ----------------------------------------------------------------------------------
def read_bytes(
    path: PathLike,
    file: str,
    limit: int = MAX_INPUT_BYTES,
    roots: Sequence[PathLike] = (),
    what: str = "file",
) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``), confined to ``roots`` when
    given; ``file`` locates errors and ``what`` names the file in them (``key file``)."""
    if roots:
        confine(path, roots, file)
    try:
        fd, status = open_regular_status(path)
    except FileNotFoundError:
        raise InputError(f"{what} not found", file) from None
    except NotRegularFile:
        raise InputError(f"{what} is not a regular file", file) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", file) from None
    try:  # on the descriptor itself: a file object for one read costs more than the read
        size = status.st_size
        too_large = size > limit
        # The size stat gave and a byte more (a buffer of the limit costs more than the
        # read); a file that grew since is read on, up to the limit.
        data = b"" if too_large else _read_up_to(fd, size + 1)
        if size < len(data) <= limit:
            data += _read_up_to(fd, limit + 1 - len(data))
    finally:
        os.close(fd)
    if too_large or len(data) > limit:
        raise InputError(f"{what} is larger than {limit} bytes", file)
    return data


_CHUNK = 1 << 20


def _read_up_to(fd: int, count: int) -> bytes:
    """``count`` bytes read from ``fd``, fewer only at its end (as a buffered file reads)."""
    parts: list[bytes] = []
    while count > 0:
        part = os.read(fd, min(count, _CHUNK))
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def read_text(
    path: PathLike,
    file: str,
    limit: int = MAX_INPUT_BYTES,
    roots: Sequence[PathLike] = (),
    what: str = "file",
) -> str:
    """As :func:`read_bytes`, decoded as UTF-8 (else a located ``InputError``)."""
    data = read_bytes(path, file, limit, roots, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{what} is not UTF-8 text", f"{file}:{line}") from None


# -- JSON ---------------------------------------------------------------------------------------
class _DuplicateKey(ValueError):
    pass


class _LongNumber(ValueError):
    pass


def _number(parse: type[int] | type[float]) -> Any:
    """A ``json`` number hook refusing numbers longer than :data:`MAX_NUMBER_CHARS`."""

    def hook(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise _LongNumber
        return parse(text)

    return hook


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def loads(data: bytes | str, file: str, what: str = "", line: int | None = None) -> Any:
    """Parse JSON rejecting duplicate keys and nesting deeper than :data:`MAX_JSON_DEPTH`.

    ``what`` names an embedded document (e.g. ``DSSE payload``) and prefixes the
    message; ``line`` is the line of ``data`` in a JSON-Lines file. Without
    either, a syntax error is located at ``file:line:column``.
    """
    prefix = f"{what}: " if what else ""
    where = f"{file}:{line}" if line else file
    too_deep = f"{prefix}JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        document = _without_duplicates(data)
    except json.JSONDecodeError as exc:
        if what or line:
            detail = f" at column {exc.colno}" if line and not what else ""
            raise InputError(f"{prefix}invalid JSON: {exc.msg}{detail}", where) from None
        raise InputError(f"invalid JSON: {exc.msg}", f"{file}:{exc.lineno}:{exc.colno}") from None
    except _DuplicateKey as exc:
        raise InputError(f"{prefix}duplicate JSON key `{_cut(str(exc))}`", where) from None
    except _LongNumber:
        raise InputError(
            f"{prefix}JSON number longer than {MAX_NUMBER_CHARS} characters", where
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{prefix}JSON is not valid UTF-8", where) from None
    except RecursionError:
        raise InputError(too_deep, where) from None
    raw = data.encode() if isinstance(data, str) else data
    if _too_deep(raw, document):
        raise InputError(too_deep, where)
    return document


def _too_deep(raw: bytes, document: Any) -> bool:
    """Whether ``document``, read from ``raw``, nests deeper than :data:`MAX_JSON_DEPTH`.

    Each level opens a bracket of its own, so a short text with no more opening
    brackets than the limit is not too deep (counted in C: most small documents end
    here). Else a document of few values (an envelope around a large payload) is
    walked; for others, brackets that cannot nest deeper than the limit spare the walk.
    """
    if len(raw) <= _COUNTED_BYTES and raw.count(b"{") + raw.count(b"[") <= MAX_JSON_DEPTH:
        return False
    few = _depth(document, _FEW_VALUES)
    if few is not None:
        return few > MAX_JSON_DEPTH
    return not _shallow(raw.translate(None, _NOT_BRACKETS)) and depth(document) > MAX_JSON_DEPTH


_FEW_VALUES = 64
_COUNTED_BYTES = 16 * 1024  # longer texts are not scanned for brackets first


def _without_duplicates(data: bytes | str) -> Any:
    """``json.loads`` with the number limits, refusing duplicate keys (``_DuplicateKey``).

    A hook seeing every object's pairs costs a Python call per object; when
    :func:`_fast` can vouch for its document, that is the answer instead.
    """
    if isinstance(data, bytes):
        document = _fast(data)
        if document is not _UNSURE:
            return document
    numbers = {"parse_int": _number(int), "parse_float": _number(float)}
    return json.loads(data, object_pairs_hook=_no_duplicates, **numbers)


_UNSURE = object()
_WHITESPACE = b" \t\n\r"


def _fast(data: bytes) -> Any:
    """The document of ``data`` as the hooked ``json.loads`` reads it, or ``_UNSURE``.

    orjson parses it (refusing what the standard library refuses, and more); written
    again by orjson, it must give the text back but for whitespace. Whitespace is
    never part of an escape, so both texts then hold the same tokens: the same keys
    (none dropped as a repeat), strings that read the same, and the same numbers,
    each as orjson writes its value: an integer within 64 bits, or a float's
    shortest round-trip form, which ``float`` reads back to the same value (a
    longer number, or an integer orjson turns into a float, is written otherwise).
    ``tests/test_inputs_json_fast.py`` checks the answers are the same.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency on CPython only
        return _UNSURE
    try:
        document = orjson.loads(data)
        written = orjson.dumps(document)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return _UNSURE
    text = _squeezed(data)  # written has whitespace only in strings: squeezed when it must be
    return document if written == text or _squeezed(written) == text else _UNSURE


def _squeezed(text: bytes) -> bytes:
    """``text`` without JSON whitespace (spaces and newlines cut out by memchr, not per byte)."""
    if b"\t" in text or b"\r" in text:
        return text.translate(None, _WHITESPACE)
    if b" " in text:
        text = text.replace(b" ", b"")
    return text.replace(b"\n", b"") if b"\n" in text else text


def read_json(
    path: PathLike, file: str, limit: int = MAX_INPUT_BYTES, roots: Sequence[PathLike] = ()
) -> Any:
    """The JSON document in the file ``path``: :func:`read_bytes`, then :func:`loads`."""
    return loads(read_bytes(path, file, limit, roots), file)


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def _shallow(sequence: bytes) -> bool:
    """True only when the ``sequence`` of brackets of valid JSON (those in strings too) cannot
    nest deeper than :data:`MAX_JSON_DEPTH`.

    Fewer brackets than the limit cannot. Else empty pairs are removed a pass at a
    time: a pass removes at most two levels (``{}``, then ``[]``), and brackets
    inside strings sit innermost, so emptied within half the limit means within the
    limit. Otherwise (unbalanced string brackets, or deep) the exact walk decides.
    """
    if len(sequence) <= MAX_JSON_DEPTH:
        return True
    for _ in range(MAX_JSON_DEPTH // 2):
        if not sequence:
            return True
        sequence = sequence.replace(b"{}", b"").replace(b"[]", b"")
    return not sequence


def depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (a scalar is 0), without recursion."""
    found = _depth(document, math.inf)
    return 0 if found is None else found


def _depth(document: Any, budget: float) -> int | None:
    """:func:`depth`, or None when it would visit more than ``budget`` values."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
            budget -= len(value)
            if budget < 0:
                return None
            if level <= MAX_JSON_DEPTH:
                stack.extend((item, level + 1) for item in value)
    return deepest


def json_lines(data: bytes, file: str, first_line: int = 1) -> Iterator[tuple[int, Any]]:
    """(line number, document) for every non-blank line of JSON Lines starting at ``first_line``."""
    for number, text in enumerate(data.split(b"\n"), start=first_line):
        if text.strip():
            yield number, loads(text, file, line=number)


def is_extra_data(error: InputError) -> bool:
    """Whether parsing failed only because more JSON follows the first document."""
    return error.message == "invalid JSON: Extra data"


# -- YAML ---------------------------------------------------------------------------------------
def _yaml() -> tuple[Any, Any]:
    """PyYAML and its safe loader (libyaml's when built): loaded by the first YAML read only,
    so that commands reading JSON alone (verify) do not load it."""
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class AliasBombError(ValueError):
    """YAML anchors and aliases that would expand beyond the budget, or into themselves."""


def check_aliases(root: yaml.Node) -> None:
    """Refuse aliases adding more than :data:`MAX_ALIAS_NODES` nodes, or naming an ancestor.

    Sizes are counted once per node (shared nodes are what aliases make), so
    this is linear in the composed nodes however far aliases would expand.
    """
    sizes: dict[int, int] = {}
    yaml, _ = _yaml()
    distinct = _expanded_size(root, sizes, set(), (yaml.MappingNode, yaml.SequenceNode))
    if distinct - len(sizes) > MAX_ALIAS_NODES:
        raise AliasBombError(
            f"YAML aliases expand to more than {MAX_ALIAS_NODES} extra nodes; the file was not read"
        )


def _expanded_size(
    node: yaml.Node, sizes: dict[int, int], open_: set[int], kinds: tuple[type, type]
) -> int:
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise AliasBombError("a YAML alias refers to a node that contains it")
    open_.add(key)
    total = 1
    mapping, sequence = kinds
    if isinstance(node, mapping):
        for child_key, child_value in node.value:
            total += _expanded_size(child_key, sizes, open_, kinds)
            total += _expanded_size(child_value, sizes, open_, kinds)
    elif isinstance(node, sequence):
        for child in node.value:
            total += _expanded_size(child, sizes, open_, kinds)
    open_.discard(key)
    sizes[key] = min(total, 1 << 62)
    return sizes[key]


def check_yaml_aliases(text: str, file: str) -> None:
    """Compose every document of ``text`` (nothing constructed) and check its aliases;
    a syntax error is left to whoever parses the text next."""
    yaml, loader = _yaml()
    try:
        for node in yaml.compose_all(text, Loader=loader):
            if node is not None:
                check_aliases(node)
    except AliasBombError as exc:
        raise InputError(str(exc), file) from None
    except (yaml.YAMLError, RecursionError):
        return


def load_yaml(text: str, file: str) -> Any:
    """The single YAML document in ``text``, safe-loaded within the alias budget; errors are
    located ``InputError``s (``file:line:column`` for a syntax error)."""
    check_yaml_aliases(text, file)
    yaml, loader = _yaml()
    try:
        return yaml.load(text, Loader=loader)  # a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        problem = getattr(exc, "problem", None) or "not YAML"
        raise InputError(f"invalid YAML: {problem}", where) from None
    except RecursionError:
        raise InputError("YAML nested too deeply", file) from None


def read_yaml(
    path: PathLike, file: str, limit: int = MAX_INPUT_BYTES, roots: Sequence[PathLike] = ()
) -> Any:
    """The YAML document in the file ``path``: :func:`read_text`, then :func:`load_yaml`."""
    return load_yaml(read_text(path, file, limit, roots), file)
