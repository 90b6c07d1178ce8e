"""The public API: load policies, build the provenance graph, evaluate.

The CLI is a thin layer over these functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.diagnostics import Diagnostic, has_errors
from policy_engine.errors import InputError

if TYPE_CHECKING:
    from policy_engine.compiler import ir
    from policy_engine.evaluate import Evaluation
    from policy_engine.graph.model import ProvenanceGraph

POLICY_SUFFIX = ".policy"
DEFAULT_POLICY_DIR = "policies"


@dataclass(frozen=True)
class LoadedPolicy:
    policy: ir.PolicySet | None  # None when there are errors
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str]  # displayed file name -> text, for rendering diagnostics

    @property
    def ok(self) -> bool:
        return self.policy is not None and not has_errors(self.diagnostics)


@dataclass(frozen=True)
class CheckResult:
    policy: ir.PolicySet
    graph: ProvenanceGraph
    evaluation: Evaluation


def display_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (posix), else as given."""
    try:
        return Path(os.path.relpath(path, root)).as_posix() if _inside(path, root) else str(path)
    except ValueError:
        return str(path)


def _inside(path: Path, root: Path) -> bool:
    return os.path.abspath(path).startswith(os.path.abspath(root) + os.sep)


def policy_files(paths: Sequence[Path]) -> list[Path]:
    """The policy files named: files as given, folders searched for ``*.policy``."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob(f"*{POLICY_SUFFIX}") if p.is_file())
        elif path.exists():
            found.append(path)
        else:
            raise InputError("no such policy file or folder", str(path))
    if not found:
        raise InputError(f"no `*{POLICY_SUFFIX}` files found", ", ".join(map(str, paths)))
    return found


def load_policy(paths: Sequence[Path], root: Path) -> LoadedPolicy:
    """Parse and compile every policy file together; diagnostics cover all of them."""
    from policy_engine.compiler import compile_modules
    from policy_engine.language import parse_file

    parsed = [parse_file(p, display_name(p, root)) for p in policy_files(paths)]
    sources = {r.module.file: r.source for r in parsed}
    diagnostics = [d for r in parsed for d in r.diagnostics]
    if has_errors(diagnostics):
        return LoadedPolicy(None, tuple(diagnostics), sources)
    compiled = compile_modules([r.module for r in parsed], root)
    return LoadedPolicy(compiled.policy, (*diagnostics, *compiled.diagnostics), sources)


def build(policy: ir.PolicySet, root: Path, attestations: Sequence[Path] = ()) -> ProvenanceGraph:
    """The provenance graph of ``root``, with signatures checked against the policy's keys."""
    from policy_engine.graph.build import build_graph
    from policy_engine.graph.builders import BuildContext
    from policy_engine.keys import Keyring

    if not root.is_dir():
        raise InputError("repository folder not found", str(root))
    paths = tuple(dict.fromkeys([*policy.attestation_paths, *attestations]))
    return build_graph(BuildContext(root, Keyring(policy.keys), paths))


def check(
    policy: ir.PolicySet,
    root: Path,
    attestations: Sequence[Path] = (),
    now: datetime | None = None,
) -> CheckResult:
    """Build the graph of ``root`` and evaluate ``policy`` against it."""
    from policy_engine.evaluate import evaluate

    graph = build(policy, root, attestations)
    moment = now or datetime.now(timezone.utc)
    return CheckResult(policy, graph, evaluate(policy, graph, moment))
