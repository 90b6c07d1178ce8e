"""Where things are defined: the lines of the keys of DVC YAML files' top-level sections."""

from __future__ import annotations

from typing import Any

import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOP = ""  # the section name of the top-level keys themselves


class LineIndex:
    """1-based lines of keys in DVC YAML files (``dvc.yaml``, ``dvc.lock``), read once per file."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, dict[str, int]]] = {}

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

    Read from the YAML parser's events (safe, C parser when present): nothing
    is constructed or resolved, and a key's line is where its text is. Any
    problem reading the file gives no lines.
    """
    try:
        with open(path, "rb") as stream:
            return _KeyLines().feed(yaml.parse(stream, Loader=_YAML_LOADER))
    except (OSError, yaml.YAMLError):
        return {}


class _KeyLines:
    """Follows the event stream: which mapping we are in, and whether a key comes next."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, int]] = {}
        # per open collection: [is a mapping, expects a key, its last key]
        self.stack: list[list[Any]] = []

    def feed(self, events: object) -> dict[str, dict[str, int]]:
        for event in events:  # type: ignore[attr-defined]
            if isinstance(event, yaml.CollectionStartEvent):
                self.stack.append([isinstance(event, yaml.MappingStartEvent), True, None])
            elif isinstance(event, yaml.CollectionEndEvent):
                self.stack.pop()
                self._value_done()
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                self._scalar(event)
        return self.sections

    def _scalar(self, event: yaml.Event) -> None:
        if not self.stack or not self.stack[-1][0] or not self.stack[-1][1]:
            self._value_done()
            return
        top = self.stack[-1]
        key = event.value if isinstance(event, yaml.ScalarEvent) else None
        top[1], top[2] = False, key
        section = self._section()
        mark = event.start_mark  # set on every event the parser makes
        if key is not None and section is not None and mark is not None:
            self.sections.setdefault(section, {})[key] = mark.line + 1

    def _value_done(self) -> None:
        if self.stack and self.stack[-1][0]:
            self.stack[-1][1] = True

    def _section(self) -> str | None:
        """The section the current mapping is: TOP, a top-level key's, or None (deeper)."""
        if len(self.stack) == 1:
            return TOP
        parent = self.stack[0]
        if len(self.stack) == 2 and parent[0] and isinstance(parent[2], str):
            return parent[2]
        return None
