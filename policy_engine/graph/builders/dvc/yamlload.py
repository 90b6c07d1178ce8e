"""DVC's YAML files parsed once (line by line, or by libyaml), to the data DVC's own parser gives.

DVC parses ``dvc.yaml``, ``dvc.lock`` and ``.dvc`` files with ruamel's pure
Python safe loader (YAML 1.2): at scale, most of a build. Here a text wholly in
the plain block style DVC writes is read line by line (:mod:`.blockyaml`), its
scalars by the same tag resolution; any other text is
composed by libyaml (PyYAML's C parser) and constructed with the YAML 1.2 core
schema as DVC's parser reads it (``true``/``false`` only, ``0o`` octal,
underscores in numbers, no sexagesimal numbers); the same composed nodes give
the lines of the keys (:mod:`.lines`). Plain scalars' tags are resolved as
their data is built, from the node's style, not in a callback per composed
node. What this parser would not give exactly
as DVC's does is left to DVC (:func:`parse` returns None): directives, tags,
merge keys, timestamps, duplicate keys, several documents, any syntax error
(DVC then reports it its own way), text libyaml and ruamel break differently.

Anchors and aliases are bounded before anything is constructed: aliases may
add at most :data:`MAX_ALIAS_NODES` nodes to the tree they are expanded in
(DVC's resolver walks, and copies, what an alias names each time it is used),
and an alias inside what it names is refused (:class:`AliasBombError`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from policy_engine.graph.builders.dvc.blockyaml import read_block
from policy_engine.graph.builders.dvc.lines import document_lines
from policy_engine.inputs import AliasBombError, check_aliases

_BASE: Any = getattr(yaml, "CSafeLoader", None)
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
# Every node's tag as composed: resolved when its data is built (:func:`_scalar_data`)
_UNRESOLVED = "tag:mlpolicy,unresolved"
_ScalarNode, _SequenceNode = yaml.ScalarNode, yaml.SequenceNode
# Text this parser leaves to DVC: a directive, a tag or a merge key where a node may
# start (over-matching only costs speed), line breaks YAML 1.1 and 1.2 read differently.
_LEAVE_TO_DVC = re.compile(r"^%|(?:^|[\[{,]|[:?-][ \t])[ \t]*!|<<[ \t]*:|[\x85\u2028\u2029]", re.M)
_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&")
# Every match of _LEAVE_TO_DVC holds one of these: a text with none is not searched.
_LEAVE_TO_DVC_MARKS = ("%", "!", "<<", "\x85", "\u2028", "\u2029")
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
    tags: dict[str, str] = {}
    try:
        block = read_block(text, functools.partial(_plain_data, tags), _typed())
    except (_Unsupported, ValueError):  # a scalar libyaml's parse judges
        block = None
    if block is not None:
        return Parsed(text, *block)
    if _BASE is None:
        return None
    loader = _Loader(text)
    try:
        node = _compose(loader, text)
        if node is False or left_to_dvc(text):
            return None
        data = construct(loader, node, "&" in text) if node is not None else None
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


@functools.cache
def _typed() -> frozenset[str]:
    """The first characters of the plain scalars an implicit resolver may give a type."""
    return frozenset(_Loader.yaml_implicit_resolvers)


def left_to_dvc(text: str) -> bool:
    """Whether ``text`` holds what only DVC's parser reads exactly (``_LEAVE_TO_DVC``)."""
    if not any(mark in text for mark in _LEAVE_TO_DVC_MARKS):
        return False  # a scan per mark, much faster than the pattern's search
    return _LEAVE_TO_DVC.search(text) is not None


def _compose(loader: Any, text: str) -> Any:
    """The composed document, its aliases checked; False when libyaml cannot compose it."""
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        return False  # DVC's parser reports the problem its own way
    if node is not None and "&" in text and _ANCHOR.search(text):
        check_aliases(node)
    return node


def construct(loader: Any, node: yaml.Node, anchored: bool = True) -> Any:
    """The data of composed ``node``, as the loader's constructors give it, built directly.

    PyYAML's ``construct_document`` goes through a generator per mapping and
    sequence; this builds dicts, lists and scalars in one recursive pass with
    the same scalar constructors, the same node-to-object sharing (aliases),
    and the same refusals (duplicate or unhashable keys, unsupported tags).
    A text without anchors (``anchored`` false) has no aliases, so no node is
    met twice and none is remembered. Nesting too deep to recurse is left to
    ``construct_document``.
    """
    try:
        return _build(node, {}, loader.tags) if anchored else _tree(node, loader.tags)
    except RecursionError:
        return loader.construct_document(node)


def _tree(node: yaml.Node, tags: dict[str, str]) -> Any:
    """:func:`_build` of a tree: every node met once (a text without anchors)."""
    kind = type(node)
    if kind is _ScalarNode:
        return _scalar_data(node, tags)
    if kind is _SequenceNode:
        return [_tree(child, tags) for child in node.value]
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        name = _tree(key_node, tags)
        if type(name) is not str and not isinstance(name, Hashable):
            raise _Unsupported("unhashable key")
        if name in mapping:
            raise _Unsupported("duplicate keys")  # DVC's parser refuses them
        mapping[name] = _tree(value_node, tags)
    return mapping


def _build(node: yaml.Node, built: dict[int, Any], tags: dict[str, str]) -> Any:
    key = id(node)
    if key in built:
        return built[key]
    if isinstance(node, yaml.ScalarNode):
        built[key] = value = _scalar_data(node, tags)
        return value
    if isinstance(node, yaml.SequenceNode):
        built[key] = items = list[Any]()
        items.extend(_build(child, built, tags) for child in node.value)
        return items
    built[key] = mapping = dict[Any, Any]()
    for key_node, value_node in node.value:
        name = _build(key_node, built, tags)
        if not isinstance(name, Hashable):
            raise _Unsupported("unhashable key")
        if name in mapping:
            raise _Unsupported("duplicate keys")  # DVC's parser refuses them
        mapping[name] = _build(value_node, built, tags)
    return mapping


def _scalar_data(node: Any, tags: dict[str, str]) -> Any:  # node: a yaml.ScalarNode
    """A scalar's data: a quoted or block scalar (libyaml's style not ``''``) is text;
    a plain one's tag is resolved by the table, once per distinct text (``tags``).
    A tagged scalar is refused (:func:`parse` leaves texts with tags to DVC)."""
    value: str = node.value
    if node.tag is not _UNRESOLVED:
        raise _Unsupported(node.tag)
    return value if node.style else _plain_data(tags, value)


def _plain_data(tags: dict[str, str], value: str) -> Any:
    """A plain scalar's data, its tag resolved by the table once per distinct text (``tags``)."""
    tag = tags.get(value)
    if tag is None:
        tag = tags[value] = _resolve_plain(_Loader.yaml_implicit_resolvers, value)
    if tag == _STR:
        return value
    convert = _SCALARS.get(tag)
    if convert is None:
        raise _Unsupported(tag)
    return convert(value)


def _int(text: str) -> int:
    if text.isdigit():  # most: decimal digits only (the pattern's are ASCII), read as they are
        return int(text)
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


def _unresolved(loader: Any, node: yaml.Node) -> Any:
    """PyYAML's construction of a node composed with the :data:`_UNRESOLVED` tag."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar_data(node, loader.tags)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_yaml_seq(node)
    return loader.construct_yaml_map(node)


def _resolve_plain(resolvers: dict[Any, Any], value: str) -> str:
    for tag, pattern in resolvers.get(value[:1], ()):
        if pattern.match(value):
            return str(tag)
    return _STR


class _Loader(_BASE or yaml.SafeLoader):  # type: ignore[misc]  # a C class, untyped
    """libyaml's composer, tags resolved as data is built (:func:`_scalar_data`), DVC's YAML 1.2
    resolution; mappings without duplicate keys."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.tags: dict[str, str] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        """:data:`_UNRESOLVED`: a node's tag is resolved when its data is built (an untagged
        node's, as texts with tags are left to DVC), not once per node as it is composed."""
        return _UNRESOLVED

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            raise _Unsupported("duplicate keys")  # DVC's parser refuses them
        return mapping


_SCALARS: dict[str, Callable[[str], Any]] = {
    _STR: str,
    _TAG + "int": _int,
    _TAG + "float": _float,
    _TAG + "bool": lambda text: text.lower() == "true",
    _TAG + "null": lambda text: None,
}
for _name, _pattern, _first in _IMPLICIT:
    _Loader.add_implicit_resolver(_TAG + _name, re.compile(f"^(?:{_pattern})$"), list(_first))
_Loader.add_implicit_resolver(_TAG + "null", re.compile("^$"), [""])
_Loader.add_constructor(_TAG + "int", _scalar(_int))
_Loader.add_constructor(_TAG + "float", _scalar(_float))
_Loader.add_constructor(_TAG + "bool", _scalar(_SCALARS[_TAG + "bool"]))
for _tag in ("timestamp", "binary", "set", "omap", "pairs", "merge", "value"):
    _Loader.add_constructor(_TAG + _tag, _unsupported)
_Loader.add_constructor(_UNRESOLVED, _unresolved)
_Loader.add_constructor(None, _unsupported)  # any other tag
