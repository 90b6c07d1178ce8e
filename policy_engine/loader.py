"""Finding and reading policy files: folders, imports, packs.

Every ``*.policy`` file named (or found under a named folder) is a unit; each
``import`` adds the imported file, relative to the importing one, with the
parameter bindings it gives. A pack (a file declaring ``pack``) is compiled
only where it is imported. Unreadable or missing files are diagnostics.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policy_engine.compiler.context import Unit
from policy_engine.diagnostics import Diagnostic, has_errors
from policy_engine.errors import InputError
from policy_engine.language import ast, parse_file
from policy_engine.language.parser import ParseResult

POLICY_SUFFIX = ".policy"
DEFAULT_POLICY_DIR = "policies"  # REPO/policies, when no policy path is given
MAX_FILES = 1000
BUNDLED_PREFIX = "@mlpolicy/"  # `import "@mlpolicy/mlsecops.policy"`: a pack shipped with mlpolicy


def bundled_policies() -> Path:
    """The folder of packs shipped with mlpolicy: in the wheel, or the checkout's policies/."""
    from importlib import resources

    packaged = resources.files("policy_engine").joinpath("_policies")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "policies"


def import_target(importer: Path, name: str) -> Path:
    """Where an import points: a bundled pack, or a path relative to the importing file."""
    if name.startswith(BUNDLED_PREFIX):
        return bundled_policies() / name[len(BUNDLED_PREFIX) :]
    return importer.parent / name


def display_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (posix); a bundled pack as
    ``@mlpolicy/NAME``; anything else as given."""
    absolute, base = os.path.abspath(path), os.path.abspath(root)
    if absolute.startswith(base + os.sep):
        return Path(os.path.relpath(absolute, base)).as_posix()
    bundled = os.path.abspath(bundled_policies())
    if absolute.startswith(bundled + os.sep):
        return BUNDLED_PREFIX + Path(os.path.relpath(absolute, bundled)).as_posix()
    return str(path)


def find_files(paths: Sequence[Path], suffix: str, what: str) -> list[Path]:
    """Files named, and files ending in ``suffix`` under the folders named (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"no such {what} file or folder", str(path))
    if len(found) > MAX_FILES:
        raise InputError(f"more than {MAX_FILES} {what} files", ", ".join(map(str, paths)))
    return found


def policy_files(paths: Sequence[Path]) -> list[Path]:
    """The policy files named: files as given, folders searched for ``*.policy``."""
    found = find_files(paths, POLICY_SUFFIX, "policy")
    if not found:
        raise InputError(f"no `*{POLICY_SUFFIX}` files found", ", ".join(map(str, paths)))
    return found


@dataclass
class Loaded:
    units: list[Unit] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def _is_pack(module: ast.Module) -> bool:
    return any(isinstance(d, ast.PackDecl) for d in module.declarations)


def _inside(path: Path, folders: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == f or real.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


class _Loader:
    def __init__(self, root: Path, given: Sequence[Path] = ()) -> None:
        self.root = root
        # Imports may reach the repository, the bundled packs and the folders of the
        # policies named on the command line; nothing else, whatever a policy says.
        named = [p if p.is_dir() else p.parent for p in given]
        self.allowed = [os.path.realpath(f) for f in (root, bundled_policies(), *named)]
        self.out = Loaded()
        self.parsed: dict[str, ParseResult] = {}
        self.imported: dict[str, ast.ImportDecl] = {}

    def parse(self, path: Path) -> ParseResult:
        key = os.path.abspath(path)
        if key not in self.parsed:
            result = parse_file(path, display_name(path, self.root))
            self.parsed[key] = result
            self.out.sources[result.module.file] = result.source
            self.out.diagnostics += result.diagnostics
        return self.parsed[key]

    def follow_imports(self, path: Path, chain: tuple[str, ...]) -> None:
        module = self.parse(path).module
        for decl in module.declarations:
            if isinstance(decl, ast.ImportDecl):
                self._import(path, decl, chain)

    def _import(self, importer: Path, decl: ast.ImportDecl, chain: tuple[str, ...]) -> None:
        target = import_target(importer, decl.path.value)
        key = os.path.abspath(target)
        if key in chain:
            self._error("E111", "import cycle: the file imports itself", decl)
        elif not _inside(target, self.allowed):
            self._error(
                "E005", f"imported file `{decl.path.value}` is outside the repository", decl
            )
        elif not target.is_file():
            self._error("E005", f"imported file `{decl.path.value}` not found", decl)
        elif key in self.imported:
            if self.imported[key].bindings != decl.bindings:
                self._error("E102", f"`{decl.path.value}` is imported twice", decl)
        else:
            self.imported[key] = decl
            module = self.parse(target).module
            self.out.units.append(Unit(module, decl.bindings, decl.span))
            self.follow_imports(target, (*chain, key))

    def _error(self, code: str, message: str, decl: ast.ImportDecl) -> None:
        self.out.diagnostics.append(Diagnostic(code, message, decl.path.span))


def load_files(paths: Sequence[Path], root: Path) -> Loaded:
    """Parse the named policies and everything they import; packs only where imported."""
    loader = _Loader(root, paths)
    files = policy_files(paths)
    for path in files:
        loader.parse(path)
    for path in files:
        key = os.path.abspath(path)
        module = loader.parsed[key].module
        if key not in loader.imported and not _is_pack(module):
            loader.out.units.insert(0, Unit(module))
            loader.follow_imports(path, (key,))
    for path in files:
        key = os.path.abspath(path)
        module = loader.parsed[key].module
        if _is_pack(module) and key not in loader.imported:
            loader.out.diagnostics.append(
                Diagnostic("W205", f"pack file `{module.file}` is imported by no policy")
            )
    return loader.out
