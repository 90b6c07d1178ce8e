"""Parse tree to AST: one handler per grammar rule, each named after its rule.

A predicate whose children are its fields in order needs no handler: its class in
``ast.ATOMS`` builds it (see ``__default__``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from policy_engine.diagnostics import Span
from policy_engine.language import ast

MAX_NUMBER_DIGITS = 30  # longer number literals read as infinity, which no check accepts


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


def _tagged(items: list[Any], tag: str) -> tuple[Any, ...]:
    return tuple(value for kind, value in items if kind == tag)


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

    # -- declarations ------------------------------------------------------
    def start(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def policy_decl(self, meta: Meta, c: list[Token]) -> ast.PolicyDecl:
        return ast.PolicyDecl(self._text(c[0]), self._span(meta))

    def pack_decl(self, meta: Meta, c: list[Token]) -> ast.PackDecl:
        return ast.PackDecl(self._name(c[0]), self._span(meta))

    def parameter_decl(self, meta: Meta, c: list[Any]) -> ast.ParameterDecl:
        default = c[2] if len(c) > 2 else None
        return ast.ParameterDecl(self._name(c[0]), self._name(c[1]), default, self._span(meta))

    def import_decl(self, meta: Meta, c: list[Any]) -> ast.ImportDecl:
        return ast.ImportDecl(self._text(c[0]), tuple(c[1:]), self._span(meta))

    def binding(self, meta: Meta, c: list[Any]) -> ast.Binding:
        return ast.Binding(self._name(c[0]), c[1], self._span(meta))

    def key_decl(self, meta: Meta, c: list[Token]) -> ast.KeyDecl:
        return ast.KeyDecl(self._name(c[0]), self._text(c[1]), self._span(meta))

    def key_set_decl(self, meta: Meta, c: list[Token]) -> ast.KeySetDecl:
        return ast.KeySetDecl(self._name(c[0]), self._text(c[1]), self._span(meta))

    def layout_decl(self, meta: Meta, c: list[Any]) -> ast.LayoutDecl:
        return ast.LayoutDecl(c[0], self._name(c[1]), self._span(meta))

    def ca_decl(self, meta: Meta, c: list[Token]) -> ast.CaDecl:
        return ast.CaDecl(self._name(c[0]), self._text(c[1]), self._span(meta))

    def identity_decl(self, meta: Meta, c: list[Token]) -> ast.IdentityDecl:
        root = self._text(c[3]) if len(c) > 3 else None
        return ast.IdentityDecl(
            self._name(c[0]), self._text(c[1]), self._text(c[2]), root, self._span(meta)
        )

    def role_decl(self, meta: Meta, c: list[Token]) -> ast.RoleDecl:
        names = [self._name(t) for t in c]
        return ast.RoleDecl(names[0], tuple(names[1:]), self._span(meta))

    def stage_decl(self, meta: Meta, c: list[Any]) -> ast.StageDecl:
        return ast.StageDecl(self._name(c[0]), tuple(c[1:]), self._span(meta))

    def steps_named(self, meta: Meta, c: list[Any]) -> ast.StepsNamed:
        return ast.StepsNamed(c[1], self._span(meta))

    def steps_where(self, meta: Meta, c: list[Any]) -> ast.StepsWhere:
        return ast.StepsWhere(c[1], str(c[2]), c[3], self._span(meta))

    def attestations_decl(self, meta: Meta, c: list[Token]) -> ast.AttestationsDecl:
        return ast.AttestationsDecl(self._text(c[0]), self._span(meta))

    def signatures_decl(self, meta: Meta, c: list[Any]) -> ast.SignaturesDecl:
        return ast.SignaturesDecl(c[0], self._span(meta))

    def on_unjudged_decl(self, meta: Meta, c: list[Token]) -> ast.OnUnjudgedDecl:
        return ast.OnUnjudgedDecl(self._span(meta))

    def mlflow_decl(self, meta: Meta, c: list[Token]) -> ast.MlflowDecl:
        return ast.MlflowDecl(self._text(c[0]), self._span(meta))

    def control_decl(self, meta: Meta, c: list[Any]) -> ast.ControlDecl:
        items = c[2:]
        return ast.ControlDecl(
            id=self._name(c[0]),
            title=self._text(c[1]),
            severity=_tagged(items, "severity"),
            stage=_tagged(items, "stage"),
            description=_tagged(items, "description"),
            mitigates=tuple(t for group in _tagged(items, "mitigates") for t in group),
            rules=_tagged(items, "require"),
            span=self._span(meta),
        )

    def severity_item(self, meta: Meta, c: list[Token]) -> tuple[str, ast.Name]:
        return "severity", self._name(c[0])

    def stage_item(self, meta: Meta, c: list[Token]) -> tuple[str, ast.Name]:
        return "stage", self._name(c[0])

    def description_item(self, meta: Meta, c: list[Token]) -> tuple[str, ast.Text]:
        return "description", self._text(c[0])

    def mitigates_item(self, meta: Meta, c: list[Any]) -> tuple[str, tuple[ast.Text, ...]]:
        return "mitigates", c[0]

    def require_item(self, meta: Meta, c: list[Any]) -> tuple[str, ast.Rule]:
        return "require", c[0]

    def waiver_decl(self, meta: Meta, c: list[Any]) -> ast.WaiverDecl:
        items = c[2:]
        return ast.WaiverDecl(
            control=self._name(c[0]),
            subjects=c[1],
            owner=_tagged(items, "owner"),
            reason=_tagged(items, "reason"),
            expires=_tagged(items, "expires"),
            span=self._span(meta),
        )

    def owner_item(self, meta: Meta, c: list[Token]) -> tuple[str, ast.Text]:
        return "owner", self._text(c[0])

    def reason_item(self, meta: Meta, c: list[Token]) -> tuple[str, ast.Text]:
        return "reason", self._text(c[0])

    def expires_item(self, meta: Meta, c: list[Token]) -> tuple[str, ast.Date]:
        return "expires", ast.Date(str(c[0]), self._tok(c[0]))

    # -- rules and selections ------------------------------------------------
    def rule(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.Rule(c[0], c[1], c[2], self._span(meta))

    def simple_quantifier(self, meta: Meta, c: list[Token]) -> ast.Quantifier:
        return ast.Quantifier(str(c[0]), None, self._span(meta))

    def at_least(self, meta: Meta, c: list[Token]) -> ast.Quantifier:
        return ast.Quantifier("at least", self.number(meta, c), self._span(meta))

    def artifact_selector(self, meta: Meta, c: list[Any]) -> ast.Selector:
        return ast.Selector("artifacts", tuple(c[1:]), self._span(meta))

    def step_selector(self, meta: Meta, c: list[Any]) -> ast.Selector:
        return ast.Selector("steps", tuple(c[1:]), self._span(meta))

    def attestation_selector(self, meta: Meta, c: list[Any]) -> ast.Selector:
        return ast.Selector("attestations", tuple(c[1:]), self._span(meta))

    def model_selector(self, meta: Meta, c: list[Any]) -> ast.Selector:
        return ast.Selector("models", tuple(c[1:]), self._span(meta))

    def run_selector(self, meta: Meta, c: list[Any]) -> ast.Selector:
        return ast.Selector("runs", tuple(c[1:]), self._span(meta))

    def registered_as(self, meta: Meta, c: list[Any]) -> ast.RegisteredAs:
        return ast.RegisteredAs(c[0], self._span(meta))

    def with_alias(self, meta: Meta, c: list[Any]) -> ast.WithAlias:
        return ast.WithAlias(c[0], self._span(meta))

    def of_experiment(self, meta: Meta, c: list[Any]) -> ast.OfExperiment:
        return ast.OfExperiment(c[0], self._span(meta))

    def matching(self, meta: Meta, c: list[Any]) -> ast.Matching:
        return ast.Matching(c[0], self._span(meta))

    def of_kind(self, meta: Meta, c: list[Token]) -> ast.OfKind:
        return ast.OfKind(self._name(c[0]), self._span(meta))

    def in_stage(self, meta: Meta, c: list[Token]) -> ast.InStage:
        return ast.InStage(self._name(c[0]), self._span(meta))

    def produced_in(self, meta: Meta, c: list[Token]) -> ast.ProducedIn:
        return ast.ProducedIn(self._name(c[1]), self._span(meta))

    def produced_matching(self, meta: Meta, c: list[Any]) -> ast.ProducedMatching:
        return ast.ProducedMatching(c[1], self._span(meta))

    def where_field(self, meta: Meta, c: list[Any]) -> ast.WhereField:
        return ast.WhereField(c[0], str(c[1]), c[2], self._span(meta))

    def of_type(self, meta: Meta, c: list[Any]) -> ast.OfType:
        return ast.OfType(c[0], self._span(meta))

    def from_role(self, meta: Meta, c: list[Token]) -> ast.FromRole:
        return ast.FromRole(self._name(c[0]), self._span(meta))

    def from_provenance(self, meta: Meta, c: list[Any]) -> ast.FromProvenance:
        return ast.FromProvenance(self._span(meta))

    def about(self, meta: Meta, c: list[Any]) -> ast.About:
        return ast.About(c[1], self._span(meta))

    # -- predicates ------------------------------------------------------------
    def __default__(self, data: Any, children: list[Any], meta: Meta) -> Any:
        """A predicate whose children are its fields in order: built from its class alone."""
        atom: Callable[..., ast.Atom] | None = ast.ATOMS.get(str(data))
        if atom is None:
            return Tree(data, children, meta)
        return atom(*(self._leaf(c) for c in children), self._span(meta))

    def _leaf(self, child: Any) -> Any:
        """A token as the field it fills: NAME a name, STRING a text, COMPARATOR a string."""
        if not isinstance(child, Token):
            return child
        if child.type == "NAME":
            return self._name(child)
        return self._text(child) if child.type == "STRING" else str(child)

    def any_of(self, meta: Meta, c: list[Any]) -> ast.Predicate:
        return c[0] if len(c) == 1 else ast.AnyOf(tuple(c), self._span(meta))

    def all_of(self, meta: Meta, c: list[Any]) -> ast.Predicate:
        return c[0] if len(c) == 1 else ast.AllOf(tuple(c), self._span(meta))

    def negation(self, meta: Meta, c: list[Any]) -> ast.Not:
        return ast.Not(c[0], self._span(meta))

    def role_ref(self, meta: Meta, c: list[Token]) -> ast.Signers:
        return ast.Signers(self._name(c[0]), None, self._span(meta))

    def threshold_ref(self, meta: Meta, c: list[Token]) -> ast.Signers:
        value = number_value(str(c[0]))
        count = ast.Number(value if math.isinf(value) else int(value), self._tok(c[0]))
        return ast.Signers(self._name(c[1]), count, self._span(meta))

    def performed_by(self, meta: Meta, c: list[ast.Signers]) -> ast.PerformedBy:
        return ast.PerformedBy(c[0].role, c[0].threshold, self._span(meta))

    def attested_with(self, meta: Meta, c: list[Any]) -> ast.AttestedWith:
        clauses = c[1:]
        signers = _tagged(clauses, "by")
        within = _tagged(clauses, "within")
        return ast.AttestedWith(
            self._text(c[0]),
            signers[0] if signers else None,
            tuple(cond for group in _tagged(clauses, "where") for cond in group),
            within[0] if within else None,
            self._span(meta),
        )

    def by_clause(self, meta: Meta, c: list[Any]) -> tuple[str, ast.Signers]:
        return "by", c[0]

    def where_clause(self, meta: Meta, c: list[Any]) -> tuple[str, tuple[ast.Condition, ...]]:
        return "where", c[0]

    def within_clause(self, meta: Meta, c: list[Any]) -> tuple[str, ast.Value]:
        return "within", c[0]

    # -- conditions, fields, values ---------------------------------------------
    def conditions(self, meta: Meta, c: list[Any]) -> tuple[ast.Condition, ...]:
        return tuple(c)

    def compare(self, meta: Meta, c: list[Any]) -> ast.Compare:
        return ast.Compare(c[0], str(c[1]), c[2], self._span(meta))

    def member(self, meta: Meta, c: list[Any]) -> ast.Member:
        return ast.Member(c[0], c[1], self._span(meta))

    def exists(self, meta: Meta, c: list[Any]) -> ast.Exists:
        return ast.Exists(c[0], True, self._span(meta))

    def absent(self, meta: Meta, c: list[Any]) -> ast.Exists:
        return ast.Exists(c[0], False, self._span(meta))

    def field(self, meta: Meta, c: list[Token]) -> ast.Field:
        parts = tuple(unquote(str(t)) if t.type == "STRING" else str(t) for t in c)
        return ast.Field(parts, self._span(meta))

    def strings(self, meta: Meta, c: list[Token]) -> tuple[ast.Text, ...]:
        return tuple(self._text(t) for t in c)

    def number(self, meta: Meta, c: list[Token]) -> ast.Number:
        return ast.Number(number_value(str(c[0])), self._tok(c[0]))

    def text(self, meta: Meta, c: list[Token]) -> ast.Text:
        return self._text(c[0])

    def duration(self, meta: Meta, c: list[Token]) -> ast.Duration:
        return ast.Duration(str(c[0]), self._tok(c[0]))

    def date(self, meta: Meta, c: list[Token]) -> ast.Date:
        return ast.Date(str(c[0]), self._tok(c[0]))

    def true(self, meta: Meta, c: list[Any]) -> ast.Bool:
        return ast.Bool(True, self._span(meta))

    def false(self, meta: Meta, c: list[Any]) -> ast.Bool:
        return ast.Bool(False, self._span(meta))

    def reference(self, meta: Meta, c: list[Token]) -> ast.Reference:
        return ast.Reference(self._name(c[0]), self._span(meta))

    def list(self, meta: Meta, c: list[Any]) -> ast.ListValue:
        return ast.ListValue(tuple(v for v in c if v is not None), self._span(meta))


def number_value(raw: str) -> int | float:
    """The value of a number literal; one of more than :data:`MAX_NUMBER_DIGITS` digits is
    infinite (the compiler refuses it, located) rather than a huge or unconvertible int."""
    if len(raw.lstrip("-")) > MAX_NUMBER_DIGITS:
        return float("-inf") if raw.startswith("-") else float("inf")
    return float(raw) if "." in raw else int(raw)
