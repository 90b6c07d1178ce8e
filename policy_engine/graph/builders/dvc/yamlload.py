"""DVC's YAML files parsed once by libyaml, to the data DVC's own parser would give.

DVC parses ``dvc.yaml``, ``dvc.lock`` and ``.dvc`` files with ruamel's pure
Python safe loader (YAML 1.2): at scale, most of a build. Here the text is
composed by libyaml (PyYAML's C parser) and constructed with the YAML 1.2 core
schema as DVC's parser reads it (``true``/``false`` only, ``0o`` octal,
underscores in numbers, no sexagesimal numbers); the same composed nodes give
the lines of the keys (:mod:`.lines`). What this parser would not give exactly
as DVC's does is left to DVC (:func:`parse` returns None): directives, tags,
merge keys, timestamps, duplicate keys, several documents, any syntax error
(DVC then reports it its own way), text libyaml and ruamel break differently.

Anchors and aliases are bounded before anything is constructed: aliases may
add at most :data:`MAX_ALIAS_NODES` nodes to the tree they are expanded in
(DVC's resolver walks, and copies, what an alias names each time it is used),
and an alias inside what it names is refused (:class:`AliasBombError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from policy_engine.errors import InputError
from policy_engine.graph.builders.dvc.lines import document_lines

MAX_ALIAS_NODES = 100_000
_BASE: Any = getattr(yaml, "CSafeLoader", None)
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
# Text this parser leaves to DVC: a directive, a tag or a merge key where a node may
# start (over-matching only costs speed), line breaks YAML 1.1 and 1.2 read differently.
_LEAVE_TO_DVC = re.compile(r"^%|(?:^|[\[{,]|[:?-][ \t])[ \t]*!|<<[ \t]*:|[\x85\u2028\u2029]", re.M)
_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&")
_INT = r"[-+]?(?:0b[0-1_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)"
_FLOAT = (
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)[eE][-+]?[0-9]+"
    r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_TIMESTAMP = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:.*)?"
# (tag, pattern, first characters) of the YAML 1.2 core schema as DVC's parser resolves it
_IMPLICIT = (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("float", _FLOAT, "-+0123456789."),
    ("int", _INT, "-+0123456789"),
    ("null", r"~|null|Null|NULL|", "~nN"),
    ("timestamp", _TIMESTAMP, "0123456789"),
    ("value", "=", "="),
)


class AliasBombError(ValueError):
    """YAML anchors and aliases that would expand beyond the budget, or into themselves."""


class _Unsupported(Exception):
    """Something only DVC's own parser reads exactly as DVC does."""


@dataclass(frozen=True)
class Parsed:
    """A DVC YAML file's text, its data as DVC's parser gives it, and its keys' lines."""

    text: str
    data: Any
    lines: dict[str, dict[str, int]]


def parse(text: str) -> Parsed | None:
    """The data and key lines of one DVC YAML document; None: leave it to DVC's parser.

    Raises :class:`AliasBombError` when aliases would expand beyond the budget,
    also for a text then left to DVC's parser.
    """
    if _BASE is None:
        return None
    loader = _Loader(text)
    try:
        node = _compose(loader, text)
        if node is False or _LEAVE_TO_DVC.search(text):
            return None
        data = loader.construct_document(node) if node is not None else None
    except AliasBombError:
        raise
    except (yaml.YAMLError, _Unsupported, ValueError, TypeError):
        return None
    finally:
        loader.dispose()
    lines: dict[str, dict[str, int]] = {}
    if node is not None:
        document_lines(node, lines)
    return Parsed(text, data or {}, lines)  # DVC reads an empty (falsy) document as {}


def refuse_alias_bombs(path: str, where: str) -> None:
    """Raise :class:`InputError` (at ``where``) when the YAML file at ``path`` has aliases
    beyond the budget: for the params and ``vars`` files DVC reads itself.

    A file that is not YAML, missing or unreadable is left to DVC.
    """
    if not path.endswith((".yaml", ".yml")):
        return
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError):
        return
    try:
        parse(text)
    except AliasBombError as exc:
        raise InputError(str(exc), where) from None


def _compose(loader: Any, text: str) -> Any:
    """The composed document, its aliases checked; False when libyaml cannot compose it."""
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        return False  # DVC's parser reports the problem its own way
    if node is not None and _ANCHOR.search(text):
        check_aliases(node)
    return node


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


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    digits = digits.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _float(text: str) -> float:
    value = text.replace("_", "").lower()
    sign = -1.0 if value[0] == "-" else 1.0
    value = value.lstrip("+-")
    if value == ".inf":
        return sign * float("inf")
    if value == ".nan":
        return float("nan")
    return sign * float(value)


def _scalar(convert: Callable[[str], Any]) -> Callable[[Any, yaml.Node], Any]:
    def construct(loader: Any, node: yaml.Node) -> Any:
        return convert(loader.construct_scalar(node))

    return construct


def _unsupported(loader: Any, node: yaml.Node) -> Any:
    raise _Unsupported(node.tag)


def _resolve_plain(resolvers: dict[Any, Any], value: str) -> str:
    for tag, pattern in resolvers.get(value[:1], ()):
        if pattern.match(value):
            return str(tag)
    return _STR


class _Loader(_BASE or yaml.SafeLoader):  # type: ignore[misc]  # a C class, untyped
    """libyaml's composer with DVC's YAML 1.2 resolution; mappings without duplicate keys."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.tags: dict[str, str] = {}

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        """A plain scalar's tag by the table; any other node's default tag (no path resolvers)."""
        if kind is not yaml.ScalarNode:
            return _TAG + ("seq" if kind is yaml.SequenceNode else "map")
        if not implicit[0]:
            return _STR
        tag = self.tags.get(value)  # keys and many values repeat: resolved once each
        if tag is None:
            tag = self.tags[value] = _resolve_plain(self.yaml_implicit_resolvers, value)
        return tag

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            raise _Unsupported("duplicate keys")  # DVC's parser refuses them
        return mapping


for _name, _pattern, _first in _IMPLICIT:
    _Loader.add_implicit_resolver(_TAG + _name, re.compile(f"^(?:{_pattern})$"), list(_first))
_Loader.add_implicit_resolver(_TAG + "null", re.compile("^$"), [""])
_Loader.add_constructor(_TAG + "int", _scalar(_int))
_Loader.add_constructor(_TAG + "float", _scalar(_float))
_Loader.add_constructor(_TAG + "bool", _scalar(lambda text: text.lower() == "true"))
for _tag in ("timestamp", "binary", "set", "omap", "pairs", "merge", "value"):
    _Loader.add_constructor(_TAG + _tag, _unsupported)
_Loader.add_constructor(None, _unsupported)  # any other tag
