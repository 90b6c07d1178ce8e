"""Where things are defined: the lines of the keys of DVC YAML files' top-level sections."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from policy_engine.errors import InputError
from policy_engine.inputs import read_bytes

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOP = ""  # the section name of the top-level keys themselves


class LineIndex:
    """1-based lines of keys in DVC YAML files (``dvc.yaml``, ``dvc.lock``), read once per file."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, dict[str, int]]] = {}

    def remember(self, path: str, sections: dict[str, dict[str, int]]) -> None:
        """Keep the lines of ``path`` found by whoever parsed it (so it is not read again)."""
        self._files[path] = sections

    def line(self, path: str, section: str, key: str) -> int | None:
        """The line of ``key`` in the top-level mapping ``section`` (or the top level: TOP).

        A file without the section (e.g. a DVC 1 lock, whose stages are top-level
        keys) falls back to its top-level keys.
        """
        if path not in self._files:
            self._files[path] = section_lines(path)
        sections = self._files[path]
        keys = sections.get(section)
        if keys is None:
            keys = sections.get(TOP, {})
        return keys.get(key)


def section_lines(path: str) -> dict[str, dict[str, int]]:
    """{section: {key: line}} for each mapping at the top of the file, and TOP for the top.

    Read from the nodes PyYAML composes (safe, C composer when present): nothing
    is constructed or resolved, aliases are not expanded, and a key's line is
    the start mark of its text. Keys of later documents override earlier ones.
    Any problem reading the file gives no lines.
    """
    sections: dict[str, dict[str, int]] = {}
    try:
        for document in yaml.compose_all(read_bytes(path, path), Loader=_YAML_LOADER):
            document_lines(document, sections)
    except (InputError, yaml.YAMLError, RecursionError):
        return {}
    return sections


def document_lines(root: yaml.Node, sections: dict[str, dict[str, int]]) -> None:
    """Add the lines of the keys of composed document ``root`` to ``sections``."""
    for key, value in _own_pairs(root):
        sections.setdefault(TOP, {})[key.value] = key.start_mark.line + 1
        for inner, _ in _own_pairs(value):
            sections.setdefault(key.value, {})[inner.value] = inner.start_mark.line + 1


def _own_pairs(node: yaml.Node | None) -> Iterator[tuple[yaml.ScalarNode, yaml.Node | None]]:
    """The (scalar key, value) pairs written in mapping ``node`` itself.

    An alias composes to the node it names, whose marks are at its anchor,
    before the alias: a key or value starting before the end of what precedes
    it is an alias. An alias key is skipped; an alias value comes as None
    (the mapping it names is not written here).
    """
    if not isinstance(node, yaml.MappingNode):
        return
    after = node.start_mark.index
    for key, value in node.value:
        own_key = key.start_mark.index >= after
        after = key.end_mark.index if own_key else after
        own_value = value.start_mark.index >= after
        after = value.end_mark.index if own_value else after
        if own_key and isinstance(key, yaml.ScalarNode):
            yield key, value if own_value else None
