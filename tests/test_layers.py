"""The packages of policy_engine form layers: a module imports only from its layer or below.

Every import counts: at module level, inside functions and under ``TYPE_CHECKING``.
Packages of one layer may import each other, but no two packages import each other
(directly or around a cycle).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = "policy_engine"

# Lowest first. A package is a subpackage or a module directly under policy_engine/;
# `policy_engine` itself is its `__init__.py` (the version).
LAYERS: tuple[tuple[str, ...], ...] = (
    # `intoto` (pure in-toto judgement) only needs `keys`, so it sits with them
    (
        TOP,
        "intoto",
        "errors",
        "diagnostics",
        "globs",
        "lifecycle",
        "keys",
        "gpgkeys",
        "files",
        "forked",
        "inputs",
        "schemas",
        "config",
    ),
    ("language",),
    ("loader", "compiler"),
    ("graph",),
    ("evaluate", "supplychain"),
    ("results",),
    ("api", "report"),
    ("premerge", "testing", "produce"),
    ("cli", "__main__"),
)
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


class Import(NamedTuple):
    file: str  # relative to the repository
    line: int
    source: str  # the importing package
    target: str  # the imported package


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """``policy_engine.graph.model`` -> ``graph``; ``policy_engine`` -> ``policy_engine``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else TOP


def is_module(module: str, root: Path = ROOT) -> bool:
    path = root.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(
    tree: ast.AST, module: str, is_package: bool, root: Path = ROOT
) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of a policy_engine module anywhere in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - node.level + 1]
                base = ".".join([*here, *([node.module] if node.module else [])])
            for alias in node.names:
                # `from policy_engine import api` imports the module `api`.
                full = f"{base}.{alias.name}"
                yield node.lineno, full if is_module(full, root) else base


def imports_of(path: Path, source: str | None = None, root: Path = ROOT) -> Iterator[Import]:
    """The imports of one package by another in the file ``path`` (or in ``source`` as it)."""
    text = path.read_text(encoding="utf-8") if source is None else source
    module = module_name(path, root)
    here = package_of(module)
    tree = ast.parse(text, filename=str(path))
    found = imported_modules(tree, module, path.name == "__init__.py", root)
    for line, target in dict.fromkeys(found):  # one per line and module
        if target == TOP or target.startswith(f"{TOP}."):
            there = package_of(target)
            if there != here:
                yield Import(path.relative_to(root).as_posix(), line, here, there)


@functools.cache
def all_imports(root: Path = ROOT) -> tuple[Import, ...]:
    files = sorted((root / TOP).rglob("*.py"))
    return tuple(i for path in files for i in imports_of(path, root=root))


def describe(package: str) -> str:
    rank = RANK[package]
    return f"`{package}` (layer {rank}: {', '.join(LAYERS[rank])})"


def violations(imports: Iterable[Import]) -> list[str]:
    """One message per import from a lower layer into a higher one, or of an unplaced package."""
    found = []
    for imp in imports:
        unplaced = [p for p in (imp.source, imp.target) if p not in RANK]
        if unplaced:
            found.append(f"{imp.file}:{imp.line}: `{unplaced[0]}` is in no layer of LAYERS")
        elif RANK[imp.target] > RANK[imp.source]:
            found.append(
                f"{imp.file}:{imp.line}: {describe(imp.source)} imports from a higher layer, "
                f"{describe(imp.target)}"
            )
    return found


def package_cycles(imports: Iterable[Import]) -> list[list[str]]:
    graph = nx.DiGraph((imp.source, imp.target) for imp in imports)
    return sorted(sorted(cycle) for cycle in nx.simple_cycles(graph))


def test_every_package_is_in_a_layer() -> None:
    packages = {package_of(module_name(p)) for p in (ROOT / TOP).rglob("*.py")}
    assert sorted(packages - RANK.keys()) == []
    assert sorted(RANK.keys() - packages) == []


def test_no_module_imports_from_a_higher_layer() -> None:
    imports = all_imports()
    assert imports, "no import between packages was found: the scan is broken"
    assert violations(imports) == []


def test_no_cycle_between_packages() -> None:
    assert package_cycles(all_imports()) == []


# -- the checks themselves -------------------------------------------------------------------
FAKE = """\
from __future__ import annotations

from typing import TYPE_CHECKING

from policy_engine.graph.model import ProvenanceGraph
from . import conditions

if TYPE_CHECKING:
    from policy_engine.results import CheckResult


def render() -> str:
    from policy_engine.report import REPORTERS
    from .. import cli

    return ""
"""


def test_a_bad_import_is_named_with_its_file_line_and_layers() -> None:
    path = ROOT / TOP / "evaluate" / "fake.py"
    found = violations(imports_of(path, FAKE))
    assert found == [
        "policy_engine/evaluate/fake.py:9: `evaluate` (layer 4: evaluate, supplychain) imports "
        "from a higher layer, `results` (layer 5: results)",
        "policy_engine/evaluate/fake.py:13: `evaluate` (layer 4: evaluate, supplychain) imports "
        "from a higher layer, `report` (layer 6: api, report)",
        "policy_engine/evaluate/fake.py:14: `evaluate` (layer 4: evaluate, supplychain) imports "
        "from a higher layer, `cli` (layer 8: cli, __main__)",
    ]


def test_an_unplaced_package_is_a_violation() -> None:
    path = ROOT / TOP / "graph" / "fake.py"
    found = violations(imports_of(path, "from policy_engine.nowhere import thing\n"))
    assert found == ["policy_engine/graph/fake.py:1: `nowhere` is in no layer of LAYERS"]


@pytest.mark.parametrize(
    ("edges", "cycles"),
    [
        ([("api", "report"), ("report", "api")], [["api", "report"]]),
        ([("loader", "compiler"), ("compiler", "language")], []),
    ],
)
def test_a_cycle_between_packages_is_found(
    edges: list[tuple[str, str]], cycles: list[list[str]]
) -> None:
    imports = [Import("x.py", 1, source, target) for source, target in edges]
    assert package_cycles(imports) == cycles
