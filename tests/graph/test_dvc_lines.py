"""Lines of the keys of DVC YAML files, against a reference composed with pure-Python PyYAML.

The reference finds aliases by identity (a node met a second time while walking
the document in order), not by marks as the builder does, and reads with
``yaml.SafeLoader`` rather than the C composer. They must agree on every
``dvc.yaml`` and ``dvc.lock`` of the shared corpus and of the fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policy_engine.graph.builders.dvc import lines
from policy_engine.graph.builders.dvc.lines import TOP, section_lines

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
NAMES = ("dvc.yaml", "dvc.lock")
FIXTURE_FILES = sorted(p for name in NAMES for p in (REPO / "fixtures").rglob(name))
CORPUS_FILES = sorted(p for name in NAMES for p in CORPUS.rglob(name)) if CORPUS.is_dir() else []

ALIASES = """\
base: &base {cmd: x, deps: [a]}
stages:
  s: &s {cmd: y}
  *base : 1
  t: *s
&k named: 2
*k : 3
top: *base
flow: {x: &y 1, *y : 2, z: 3}
"""


def reference(path: Path) -> dict[str, dict[str, int]]:
    """{section: {key: line}}, aliases found by node identity, pure-Python composer."""
    out: dict[str, dict[str, int]] = {}
    with path.open("rb") as stream:
        for document in yaml.compose_all(stream, Loader=yaml.SafeLoader):
            seen = {id(document)}
            _collect(document, TOP, 0, seen, out)
    return out


def _collect(node: yaml.Node, section: str | None, depth: int, seen: set, out: dict) -> None:
    children = node.value if isinstance(node, yaml.CollectionNode) else []
    for child in children:
        key, value = child if isinstance(node, yaml.MappingNode) else (None, child)
        own_key = key is not None and _first_visit(key, seen)
        if own_key:
            _collect(key, None, depth + 1, seen, out)
        written = own_key and isinstance(key, yaml.ScalarNode) and section is not None
        if written:
            out.setdefault(section, {})[key.value] = key.start_mark.line + 1
        inner = key.value if written and depth == 0 else None
        if _first_visit(value, seen):
            _collect(value, inner, depth + 1, seen, out)


def _first_visit(node: yaml.Node, seen: set) -> bool:
    new = id(node) not in seen
    seen.add(id(node))
    return new


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_fixture_lines_match_the_reference(path: Path) -> None:
    assert section_lines(str(path)) == reference(path)


@pytest.mark.skipif(not CORPUS_FILES, reason=f"shared corpus not present at {CORPUS}")
def test_corpus_lines_match_the_reference() -> None:
    found = {p.relative_to(CORPUS).as_posix(): section_lines(str(p)) for p in CORPUS_FILES}
    assert found == {p.relative_to(CORPUS).as_posix(): reference(p) for p in CORPUS_FILES}
    assert sum(len(keys) for sections in found.values() for keys in sections.values()) > 500


def test_aliases_are_not_keys_or_sections_here(tmp_path: Path) -> None:
    path = tmp_path / "dvc.yaml"
    path.write_text(ALIASES)
    expected = {
        TOP: {"base": 1, "stages": 2, "named": 6, "top": 8, "flow": 9},
        "base": {"cmd": 1, "deps": 1},
        "stages": {"s": 3, "t": 5},
        "flow": {"x": 9, "z": 9},
    }
    assert section_lines(str(path)) == expected == reference(path)


def test_alias_bomb_is_not_expanded(tmp_path: Path) -> None:
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    path = tmp_path / "dvc.yaml"
    path.write_text("\n".join([*rows, "stages:", "  s: *a11", ""]))
    assert section_lines(str(path)) == {
        TOP: {f"a{i}": i + 1 for i in range(12)} | {"stages": 13},
        "stages": {"s": 14},
    }


@pytest.mark.parametrize("text", ["a: [1\n", "a: *missing\n", "- 1\n- {b: 2}\n", ""])
def test_unreadable_or_keyless_yaml_has_no_lines(tmp_path: Path, text: str) -> None:
    path = tmp_path / "dvc.yaml"
    path.write_text(text)
    assert section_lines(str(path)) == {}


def test_later_documents_override_earlier_ones(tmp_path: Path) -> None:
    path = tmp_path / "dvc.yaml"
    path.write_text("stages: {a: 1}\n---\nstages:\n  a: 1\nb: 2\n")
    assert section_lines(str(path)) == {TOP: {"stages": 3, "b": 5}, "stages": {"a": 4}}


def test_c_composer_is_used_when_present() -> None:
    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert lines._YAML_LOADER is expected
