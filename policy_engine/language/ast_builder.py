"""Parse tree to AST: one handler per grammar rule, each named after its rule."""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from policy_engine.diagnostics import Span
from policy_engine.language import ast


def unquote(raw: str) -> str:
    r"""Strip the quotes of a STRING token and resolve ``\"``, ``\\``, ``\n`` and ``\t``."""
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


@v_args(meta=True)
class AstBuilder(Transformer[Token, Any]):
    """Builds ``ast`` nodes; spans come from lark's propagated positions (one choke point)."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta: Meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, token: Token) -> Span:
        return Span(
            self.file,
            token.line or 0,
            token.column or 0,
            token.end_line or 0,
            token.end_column or 0,
        )

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(str(token), self._tok(token))

    def _text(self, token: Token) -> ast.Text:
        return ast.Text(unquote(str(token)), self._tok(token))

    # declarations
    def start(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def policy_decl(self, meta: Meta, children: list[Token]) -> ast.PolicyDecl:
        return ast.PolicyDecl(self._text(children[0]), self._span(meta))

    def key_decl(self, meta: Meta, children: list[Token]) -> ast.KeyDecl:
        return ast.KeyDecl(self._name(children[0]), self._text(children[1]), self._span(meta))

    def role_decl(self, meta: Meta, children: list[Token]) -> ast.RoleDecl:
        names = [self._name(t) for t in children]
        return ast.RoleDecl(names[0], tuple(names[1:]), self._span(meta))

    def stage_decl(self, meta: Meta, children: list[Any]) -> ast.StageDecl:
        return ast.StageDecl(self._name(children[0]), tuple(children[1:]), self._span(meta))

    def steps_named(self, meta: Meta, children: list[Any]) -> ast.StepsNamed:
        return ast.StepsNamed(children[1], self._span(meta))

    def steps_where(self, meta: Meta, children: list[Any]) -> ast.StepsWhere:
        return ast.StepsWhere(children[1], self._text(children[2]), self._span(meta))

    def field(self, meta: Meta, children: list[Token]) -> tuple[ast.Name, ...]:
        return tuple(self._name(t) for t in children)

    def strings(self, meta: Meta, children: list[Token]) -> tuple[ast.Text, ...]:
        return tuple(self._text(t) for t in children)

    def attestations_decl(self, meta: Meta, children: list[Token]) -> ast.AttestationsDecl:
        return ast.AttestationsDecl(self._text(children[0]), self._span(meta))

    def control_decl(self, meta: Meta, children: list[Any]) -> ast.ControlDecl:
        items = children[2:]

        def of(kind: str) -> tuple[Any, ...]:
            return tuple(value for tag, value in items if tag == kind)

        return ast.ControlDecl(
            id=self._name(children[0]),
            title=self._text(children[1]),
            severity=of("severity"),
            stage=of("stage"),
            description=of("description"),
            rules=of("require"),
            span=self._span(meta),
        )

    def severity_item(self, meta: Meta, children: list[Token]) -> tuple[str, ast.Name]:
        return "severity", self._name(children[0])

    def stage_item(self, meta: Meta, children: list[Token]) -> tuple[str, ast.Name]:
        return "stage", self._name(children[0])

    def description_item(self, meta: Meta, children: list[Token]) -> tuple[str, ast.Text]:
        return "description", self._text(children[0])

    def require_item(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Rule]:
        return "require", children[0]

    # rules
    def rule(self, meta: Meta, children: list[Any]) -> ast.Rule:
        quantifier, selector, predicate = children
        return ast.Rule(str(quantifier), selector, predicate, self._span(meta))

    def artifacts_matching(self, meta: Meta, children: list[Any]) -> ast.ArtifactsMatching:
        return ast.ArtifactsMatching(children[1], self._span(meta))

    def steps_in(self, meta: Meta, children: list[Any]) -> ast.StepsIn:
        return ast.StepsIn(self._name(children[1]), self._span(meta))

    def steps_matching(self, meta: Meta, children: list[Any]) -> ast.StepsMatching:
        return ast.StepsMatching(children[1], self._span(meta))

    def any_of(self, meta: Meta, children: list[Any]) -> ast.Predicate:
        return children[0] if len(children) == 1 else ast.AnyOf(tuple(children), self._span(meta))

    def all_of(self, meta: Meta, children: list[Any]) -> ast.Predicate:
        return children[0] if len(children) == 1 else ast.AllOf(tuple(children), self._span(meta))

    def negation(self, meta: Meta, children: list[Any]) -> ast.Not:
        return ast.Not(children[0], self._span(meta))

    def signed_by(self, meta: Meta, children: list[Any]) -> ast.SignedBy:
        role, threshold = children[0]
        return ast.SignedBy(role, threshold, self._span(meta))

    def role_ref(self, meta: Meta, children: list[Token]) -> tuple[ast.Name, None]:
        return self._name(children[0]), None

    def threshold_ref(self, meta: Meta, children: list[Token]) -> tuple[ast.Name, int]:
        return self._name(children[1]), int(children[0])

    def derives_from(self, meta: Meta, children: list[Any]) -> ast.DerivesFrom:
        return ast.DerivesFrom(children[0], self._span(meta))

    def performed_by(self, meta: Meta, children: list[Token]) -> ast.PerformedBy:
        return ast.PerformedBy(self._name(children[0]), self._span(meta))
