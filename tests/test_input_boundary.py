"""Every file the engine reads from a repository is read by ``policy_engine/inputs.py``.

A module elsewhere that opens a file, calls ``read_text``/``read_bytes``, or parses
JSON or YAML itself fails this test, unless its read is in :data:`ALLOWED` with the
reason it is not repository input. Writes (``open(..., "w")``, ``O_WRONLY``) are not reads.

Not scanned: what DVC reads itself through its own file system (``.dvc/config``,
params files named in ``vars``, ``.dvcignore``) once ``dvc.yaml`` and ``dvc.lock``
have been read here; DVC checks those are regular files of the repository.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
BOUNDARY = "policy_engine/inputs.py"
_OPENS = {"open", "io.open", "os.open", "os.fdopen"}
_METHODS = {"read_text", "read_bytes"}
_YAML_READS = ("load", "load_all", "safe_load", "safe_load_all", "full_load", "unsafe_load")
_PARSES = {"json.load", "json.loads"} | {
    f"yaml.{name}" for name in (*_YAML_READS, "compose", "compose_all", "parse", "scan")
}

# (file, function, call) -> why it is not a read of repository input
ALLOWED: dict[tuple[str, str, str], str] = {
    ("policy_engine/language/grammar.py", "grammar_text", "read_text"): "the grammar: package data",
    ("policy_engine/language/grammar.py", "_load_cached", "read_text"): "a parse table we wrote "
    "in the user cache",
    ("policy_engine/language/grammar.py", "_load_cached", "json.loads"): "the same table",
    ("policy_engine/report/html/page.py", "asset", "read_text"): "the report's package data",
    ("policy_engine/graph/builders/modelsig/verify.py", "public_good_root", "read_bytes"): (
        "the trusted root the sigstore package ships"
    ),
    ("policy_engine/graph/builders/modelsig/verify.py", "predicate_type", "json.loads"): (
        "a payload inside a bundle already read, bounded and parsed by inputs.loads"
    ),
    ("policy_engine/graph/builders/modelsig/verify.py", "_trusted_root", "json.loads"): (
        "a trusted root already read, bounded and checked as JSON by keys.load_identity"
    ),
    ("policy_engine/graph/export.py", "_node", "json.loads"): (
        "json.dumps output of our own records: no file"
    ),
    ("policy_engine/graph/builders/dvc/lines.py", "section_lines", "yaml.compose_all"): (
        "bytes read by inputs.read_bytes; composed only (aliases are not expanded)"
    ),
    ("policy_engine/produce/documents.py", "_yaml", "yaml.parse"): (
        "a predicate file read by inputs.read_bytes; aliases refused outright"
    ),
    ("policy_engine/produce/documents.py", "_yaml", "yaml.load"): "the same predicate file",
    ("policy_engine/produce/statements.py", "_read_lines", "read_bytes"): (
        "the bundle `mlpolicy attest` appends to: a path the command line gives"
    ),
    ("policy_engine/produce/statements.py", "_supersedes", "json.loads"): (
        "lines of that bundle, which attest wrote"
    ),
    ("policy_engine/produce/signing.py", "read_private_pem", "read_bytes"): (
        "a private key the command line names"
    ),
    ("policy_engine/produce/models.py", "_count", "read_text"): (
        "a model signature `mlpolicy attest` has just written"
    ),
    ("policy_engine/produce/models.py", "_count", "json.loads"): "the same signature",
    ("policy_engine/forked.py", "parts", "os.fdopen"): (
        "the pipe from a child this process forked: where each part of the result it "
        "computed ends in the file in memory it wrote, not a file read"
    ),
}


class Read(NamedTuple):
    file: str
    line: int
    function: str
    call: str


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _writes(call: ast.Call) -> bool:
    """``open(path, "w...")`` or ``os.open(path, ... O_WRONLY ...)``: a write, not a read."""
    for arg in call.args[1:2]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return bool(set(arg.value) & set("wax"))
        if any(isinstance(n, ast.Attribute) and n.attr == "O_WRONLY" for n in ast.walk(arg)):
            return True
    return False


def _kind(call: ast.Call) -> str | None:
    name = _dotted(call.func)
    if name in _OPENS:
        return None if _writes(call) else name
    if isinstance(call.func, ast.Attribute) and call.func.attr in _METHODS:
        return None if name.startswith("inputs.") else call.func.attr
    if name in _PARSES:
        return name
    if name.startswith("yaml.") and "load" in name.lower():
        return name
    return None


def reads_in(path: Path, source: str | None = None) -> Iterator[Read]:
    """The reads of files, JSON and YAML in the module at ``path`` (or ``source`` as it)."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text)
    file = path.relative_to(ROOT).as_posix()
    for function, node in _calls(tree):
        kind = _kind(node)
        if kind is not None:
            yield Read(file, node.lineno, function, kind)


def _calls(tree: ast.AST, function: str = "<module>") -> Iterator[tuple[str, ast.Call]]:
    for child in ast.iter_child_nodes(tree):
        inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if isinstance(child, ast.Call):
            yield function, child
        yield from _calls(child, inner or function)


def _allowed(read: Read) -> bool:
    return (read.file, read.function, read.call) in ALLOWED


def unbounded_reads() -> list[str]:
    found = []
    for path in sorted((ROOT / "policy_engine").rglob("*.py")):
        for read in reads_in(path):
            if read.file != BOUNDARY and not _allowed(read):
                found.append(f"{read.file}:{read.line}: `{read.call}` in `{read.function}`")
    return found


def test_every_read_goes_through_the_boundary() -> None:
    assert unbounded_reads() == []


def test_every_allowed_read_still_exists() -> None:
    reads = {
        (r.file, r.function, r.call)
        for path in (ROOT / "policy_engine").rglob("*.py")
        for r in reads_in(path)
    }
    stale = [key for key in ALLOWED if key not in reads]
    assert stale == []


# -- the scan itself ---------------------------------------------------------------------------
FAKE = """\
import json, os, yaml
from pathlib import Path


def sneaky(path: Path) -> object:
    with open(path) as handle:
        handle.read()
    os.open(path, os.O_RDONLY)
    yaml.safe_load(path.read_text())
    return json.loads(path.read_bytes())


def writes(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.write(b"")
    os.open(path, os.O_WRONLY | os.O_CREAT)
"""


def test_a_read_outside_the_boundary_is_named_with_its_line() -> None:
    path = ROOT / "policy_engine" / "graph" / "fake.py"
    found = [(r.line, r.function, r.call) for r in reads_in(path, FAKE)]
    assert found == [
        (6, "sneaky", "open"),
        (8, "sneaky", "os.open"),
        (9, "sneaky", "yaml.safe_load"),
        (9, "sneaky", "read_text"),
        (10, "sneaky", "json.loads"),
        (10, "sneaky", "read_bytes"),
    ]
    assert not [r for r in reads_in(path, FAKE) if _allowed(r)]
