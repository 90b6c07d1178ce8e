"""State shared by the compiler passes: units, scopes, symbol tables and diagnostics."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.diagnostics import Diagnostic, Span
from policy_engine.keys import PublicKey, Trusted
from policy_engine.language import ast

if TYPE_CHECKING:
    from policy_engine.compiler import ir


@dataclass(frozen=True)
class Unit:
    """A parsed file to compile; a pack imported with parameter bindings carries them."""

    module: ast.Module
    bindings: tuple[ast.Binding, ...] = ()
    imported_at: Span | None = None


@dataclass
class Scope:
    """The names a file sees besides the shared namespace: a pack's parameters."""

    pack: str | None = None
    params: dict[str, ast.ParameterDecl] = field(default_factory=dict)
    bound: dict[str, ast.Value] = field(default_factory=dict)

    def role_name(self, name: ast.Name) -> str:
        """A role as written, or the role a `role` parameter is bound to."""
        param = self.params.get(name.value)
        if param is not None and param.type.value == "role":
            bound = self.bound.get(name.value)
            if isinstance(bound, ast.Reference):
                return bound.name.value
        return name.value


@dataclass
class CompileContext:
    units: tuple[Unit, ...]
    root: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scopes: dict[str, Scope] = field(default_factory=dict)
    policies: list[ast.PolicyDecl] = field(default_factory=list)
    keys: dict[str, ast.SignerDecl] = field(default_factory=dict)
    roles: dict[str, ast.RoleDecl] = field(default_factory=dict)
    key_sets: dict[str, ast.KeySetDecl] = field(default_factory=dict)
    layouts: list[ast.LayoutDecl] = field(default_factory=list)
    stages: dict[str, ast.StageDecl] = field(default_factory=dict)
    attestations: list[ast.AttestationsDecl] = field(default_factory=list)
    on_unjudged: list[ast.OnUnjudgedDecl] = field(default_factory=list)
    signatures: list[ast.SignaturesDecl] = field(default_factory=list)
    tracking_stores: list[ast.MlflowDecl] = field(default_factory=list)
    controls: dict[str, ast.ControlDecl] = field(default_factory=dict)
    waivers: list[ast.WaiverDecl] = field(default_factory=list)
    loaded_keys: dict[str, Trusted] = field(default_factory=dict)
    loaded_key_sets: dict[str, dict[str, PublicKey]] = field(default_factory=dict)
    result: ir.PolicySet | None = None

    def error(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help))

    def scope(self, span: Span) -> Scope:
        """The scope of the file a node comes from."""
        return self.scopes.get(span.file) or Scope()

    def is_role(self, name: str) -> bool:
        """Whether ``name`` is a role: declared with `role`, or a key set."""
        return name in self.roles or name in self.key_sets

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
