"""State shared by the compiler passes: the modules, symbol tables and diagnostics."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from policy_engine.compiler import ir
from policy_engine.diagnostics import Diagnostic, Span
from policy_engine.keys import PublicKey
from policy_engine.language import ast


@dataclass
class CompileContext:
    modules: tuple[ast.Module, ...]
    root: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    policies: list[ast.PolicyDecl] = field(default_factory=list)
    keys: dict[str, ast.KeyDecl] = field(default_factory=dict)
    roles: dict[str, ast.RoleDecl] = field(default_factory=dict)
    stages: dict[str, ast.StageDecl] = field(default_factory=dict)
    attestations: list[ast.AttestationsDecl] = field(default_factory=list)
    controls: dict[str, ast.ControlDecl] = field(default_factory=dict)
    loaded_keys: dict[str, PublicKey] = field(default_factory=dict)
    result: ir.PolicySet | None = None

    def error(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help))

    def rules(self) -> Iterator[tuple[ast.ControlDecl, ast.Rule]]:
        for control in self.controls.values():
            for rule in control.rules:
                yield control, rule


def suggest(name: str, candidates: Iterable[str], kind: str) -> str:
    """A help text naming the closest candidate, or listing what exists."""
    options = sorted(candidates)
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"did you mean `{close[0]}`?"
    if not options:
        return f"no {kind} is defined"
    return f"defined {kind}s: " + ", ".join(f"`{o}`" for o in options)


def location(span: Span) -> ir.Location:
    return ir.Location(span.file, span.line, span.column)
