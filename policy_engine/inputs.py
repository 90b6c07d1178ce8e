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
import os
import stat
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from policy_engine.errors import InputError

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
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
    flags = _OPEN_FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"not a regular file: {path}")
    except BaseException:
        os.close(fd)
        raise
    return fd


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
        fd = open_regular(path)
    except FileNotFoundError:
        raise InputError(f"{what} not found", file) from None
    except NotRegularFile:
        raise InputError(f"{what} is not a regular file", file) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", file) from None
    with open(fd, "rb", closefd=True) as handle:
        too_large = os.fstat(fd).st_size > limit
        data = b"" if too_large else handle.read(limit + 1)
    if too_large or len(data) > limit:
        raise InputError(f"{what} is larger than {limit} bytes", file)
    return data


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
        document = json.loads(
            data,
            object_pairs_hook=_no_duplicates,
            parse_int=_number(int),
            parse_float=_number(float),
        )
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
    # Fewer brackets than the limit cannot nest deeper than it: skip the walk.
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > MAX_JSON_DEPTH and not _shallow(raw) and depth(document) > MAX_JSON_DEPTH:
        raise InputError(too_deep, where)
    return document


def read_json(
    path: PathLike, file: str, limit: int = MAX_INPUT_BYTES, roots: Sequence[PathLike] = ()
) -> Any:
    """The JSON document in the file ``path``: :func:`read_bytes`, then :func:`loads`."""
    return loads(read_bytes(path, file, limit, roots), file)


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def _shallow(raw: bytes) -> bool:
    """True only when ``raw`` (valid JSON) cannot nest deeper than :data:`MAX_JSON_DEPTH`.

    Its brackets (those in strings too), with empty pairs removed a pass at a time:
    a pass removes at most two levels (``{}``, then ``[]``), and brackets inside
    strings sit innermost, so emptied within half the limit means within the limit.
    Otherwise (unbalanced string brackets, or deep) the exact walk decides.
    """
    sequence = raw.translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH // 2):
        if not sequence:
            return True
        sequence = sequence.replace(b"{}", b"").replace(b"[]", b"")
    return not sequence


def depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
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
class AliasBombError(ValueError):
    """YAML anchors and aliases that would expand beyond the budget, or into themselves."""


def check_aliases(root: yaml.Node) -> None:
    """Refuse aliases adding more than :data:`MAX_ALIAS_NODES` nodes, or naming an ancestor.

    Sizes are counted once per node (shared nodes are what aliases make), so
    this is linear in the composed nodes however far aliases would expand.
    """
    sizes: dict[int, int] = {}
    distinct = _expanded_size(root, sizes, set())
    if distinct - len(sizes) > MAX_ALIAS_NODES:
        raise AliasBombError(
            f"YAML aliases expand to more than {MAX_ALIAS_NODES} extra nodes; the file was not read"
        )


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise AliasBombError("a YAML alias refers to a node that contains it")
    open_.add(key)
    total = 1
    if isinstance(node, yaml.MappingNode):
        for child_key, child_value in node.value:
            total += _expanded_size(child_key, sizes, open_)
            total += _expanded_size(child_value, sizes, open_)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, sizes, open_)
    open_.discard(key)
    sizes[key] = min(total, 1 << 62)
    return sizes[key]


def check_yaml_aliases(text: str, file: str) -> None:
    """Compose every document of ``text`` (nothing constructed) and check its aliases;
    a syntax error is left to whoever parses the text next."""
    try:
        for node in yaml.compose_all(text, Loader=_YAML_LOADER):
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
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader
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
