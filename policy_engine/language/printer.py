"""AST to canonical policy text: the layout of ``mlpolicy fmt``.

One declaration per line; controls and waivers are blocks with one item per
line, two spaces in, in a fixed order. One blank line between declarations,
except that one-line declarations of the same kind (keys, roles, stages,
parameters, imports) stay grouped. Strings are re-quoted with minimal escapes;
numbers, durations and dates are printed as written; predicates get only the
parentheses their structure needs. ``is`` is written before ``signed by``,
``performed by``, ``attested with``, ``produced by`` and ``tracked``, ``was``
before ``issued within``, except right after ``not`` where the word is optional.
Comments are kept (see ``comments.py``).

Each AST node type has one small printing function, found in ``_NODES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policy_engine.diagnostics import Diagnostic, Span
from policy_engine.language import ast
from policy_engine.language.comments import Comment, Item, attach, span_range

INDENT = "  "
WIDTH = 100  # longer `require` and `import` lines are wrapped at their natural joints
CONTINUATION = "  "  # continuation lines of a wrapped line, relative to its first line
GROUPED = frozenset({"key", "layout", "role", "stage", "parameter", "import"})
# Signers are one group: keys, certificate authorities and Sigstore identities.
_GROUP_OF = {"ca": "key", "identity": "key"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}

# Predicate precedence: a child binding no tighter than its context is parenthesised.
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4


class FormatError(Exception):
    """The text does not parse; it is never formatted. ``diagnostics`` say why."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        super().__init__(f"{len(diagnostics)} syntax error(s)")
        self.diagnostics = diagnostics


def quote(value: str) -> str:
    r"""A string literal for ``value``: only ``\``, ``"``, newline and tab are escaped."""
    return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'


def plain_number(value: int | float) -> str:
    """A NUMBER token for ``value`` with no exponent; floats keep a decimal point."""
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


class Printer:
    """Prints AST nodes; with the source at hand, numbers keep the digits they were written with."""

    def __init__(self, source: str | None = None) -> None:
        self._lines = source.split("\n") if source else []

    def __call__(self, node: Any) -> str:
        return _NODES[type(node)](self, node)

    def join(self, nodes: tuple[Any, ...], sep: str = ", ") -> str:
        return sep.join(self(n) for n in nodes)

    def field(self, value: Any) -> str:
        """A predicate's field: tuples joined by commas, operators as they are."""
        if isinstance(value, tuple):
            return self.join(value)
        return value if isinstance(value, str) else self(value)

    def raw(self, span: Span) -> str | None:
        """The source text of a one-line span, if known."""
        if span.line < 1 or span.line > len(self._lines) or span.end_line != span.line:
            return None
        return self._lines[span.line - 1][span.column - 1 : span.end_column - 1]

    def predicate(self, node: ast.Predicate, context: int) -> str:
        """``node`` in a context binding with ``context`` strength: parenthesised if needed."""
        text = self(node)
        return f"({text})" if _precedence(node) <= context else text


def _precedence(node: ast.Predicate) -> int:
    return {ast.AnyOf: _OR, ast.AllOf: _AND, ast.Not: _NOT}.get(type(node), _ATOM)


# -- values ---------------------------------------------------------------------


def _number(p: Printer, n: ast.Number) -> str:
    raw = p.raw(n.span)
    if raw is not None and _NUMBER.fullmatch(raw) and float(raw) == n.value:
        return raw
    return plain_number(n.value)


def _field(p: Printer, n: ast.Field) -> str:
    return ".".join(part if _NAME.fullmatch(part) else quote(part) for part in n.parts)


def _value_nodes() -> dict[type, Callable[[Printer, Any], str]]:
    return {
        ast.Name: lambda p, n: n.value,
        ast.Text: lambda p, n: quote(n.value),
        ast.Number: _number,
        ast.Duration: lambda p, n: n.raw,
        ast.Date: lambda p, n: n.raw,
        ast.Bool: lambda p, n: "true" if n.value else "false",
        ast.Reference: lambda p, n: p(n.name),
        ast.ListValue: lambda p, n: f"[{p.join(n.items)}]",
        ast.Field: _field,
    }


# -- declarations ---------------------------------------------------------------


def _parameter(p: Printer, n: ast.ParameterDecl) -> str:
    default = "" if n.default is None else f" = {p(n.default)}"
    return f"parameter {p(n.name)}: {p(n.type)}{default}"


def _import(p: Printer, n: ast.ImportDecl) -> str:
    bindings = f" with {p.join(n.bindings)}" if n.bindings else ""
    line = f"import {p(n.path)}{bindings}"
    if len(line) <= WIDTH:
        return line
    return _fill([f"import {p(n.path)} with"] + [f"{p(b)}," for b in n.bindings])[:-1]


def _fill(words: list[str]) -> str:
    """Words on lines of at most WIDTH columns; continuation lines indented one step more
    than the first."""
    indent = words[0][: len(words[0]) - len(words[0].lstrip())] + CONTINUATION
    lines = [words[0]]
    for word in words[1:]:
        if len(INDENT + lines[-1]) + 1 + len(word) > WIDTH:
            lines.append(indent + word)
        else:
            lines[-1] += " " + word
    return "\n".join(lines)


def _declaration_nodes() -> dict[type, Callable[[Printer, Any], str]]:
    return {
        ast.PolicyDecl: lambda p, n: f"policy {p(n.name)}",
        ast.PackDecl: lambda p, n: f"pack {p(n.name)}",
        ast.ParameterDecl: _parameter,
        ast.Binding: lambda p, n: f"{p(n.name)} = {p(n.value)}",
        ast.ImportDecl: _import,
        ast.KeyDecl: lambda p, n: f"key {p(n.name)} from {p(n.path)}",
        ast.KeySetDecl: lambda p, n: f"keys {p(n.name)} from {p(n.path)}",
        ast.LayoutDecl: lambda p, n: f"layout {p.join(n.globs)} owned by {p(n.owners)}",
        ast.CaDecl: lambda p, n: f"ca {p(n.name)} from {p(n.path)}",
        ast.IdentityDecl: _identity,
        ast.RoleDecl: lambda p, n: f"role {p(n.name)} = {p.join(n.members)}",
        ast.StepsNamed: lambda p, n: f"steps {p.join(n.globs)}",
        ast.StepsWhere: lambda p, n: f"steps where {p(n.field)} {n.op} {p(n.value)}",
        ast.StageDecl: lambda p, n: f"stage {p(n.name)} = {p.join(n.step_sets, ' or ')}",
        ast.AttestationsDecl: lambda p, n: f"attestations in {p(n.path)}",
        ast.OnUnjudgedDecl: lambda p, n: "on unjudged fail",
        ast.SignaturesDecl: lambda p, n: f"signatures from statements of type {p.join(n.types)}",
        ast.MlflowDecl: lambda p, n: f"mlflow in {p(n.path)}",
        ast.ControlDecl: lambda p, n: f"control {p(n.id)} {p(n.title)}",
        ast.WaiverDecl: lambda p, n: f"waive {p(n.control)} for {p.join(n.subjects)}",
    }


def _identity(p: Printer, n: ast.IdentityDecl) -> str:
    text = f"identity {p(n.name)} = {p(n.identity)} issuer {p(n.issuer)}"
    return text + (f" root {p(n.root)}" if n.root is not None else "")


# -- selections, conditions ---------------------------------------------------------


def _selector(p: Printer, n: ast.Selector, subject: str | None = None) -> str:
    return " ".join([subject or n.subject, *(p(f) for f in n.filters)])


def _selection_nodes() -> dict[type, Callable[[Printer, Any], str]]:
    return {
        ast.Matching: lambda p, n: f"matching {p.join(n.globs)}",
        ast.OfKind: lambda p, n: f"of kind {p(n.kind)}",
        ast.InStage: lambda p, n: f"in {p(n.stage)}",
        ast.ProducedIn: lambda p, n: f"produced by steps in {p(n.stage)}",
        ast.ProducedMatching: lambda p, n: f"produced by steps matching {p.join(n.globs)}",
        ast.WhereField: lambda p, n: f"where {p(n.field)} {n.op} {p(n.value)}",
        ast.OfType: lambda p, n: f"of type {p.join(n.types)}",
        ast.FromRole: lambda p, n: f"from {p(n.role)}",
        ast.About: lambda p, n: f"about artifacts matching {p.join(n.globs)}",
        ast.FromProvenance: lambda p, n: "from provenance",
        ast.RegisteredAs: lambda p, n: f"registered as {p.join(n.globs)}",
        ast.WithAlias: lambda p, n: f"with alias {p.join(n.aliases)}",
        ast.OfExperiment: lambda p, n: f"of experiment {p.join(n.globs)}",
        ast.Selector: _selector,
        ast.Compare: lambda p, n: f"{p(n.field)} {n.op} {p(n.value)}",
        ast.Member: lambda p, n: f"{p(n.field)} in {p(n.options)}",
        ast.Exists: lambda p, n: f"{p(n.field)} {'exists' if n.present else 'not exists'}",
    }


# -- predicates and rules -------------------------------------------------------------


def _signers(p: Printer, n: ast.Signers) -> str:
    return p(n.role) if n.threshold is None else f"at least {p(n.threshold)} of {p(n.role)}"


_SEGMENT = re.compile(r"\[([^\]]*)\]|\{(\w+)\}")
_FIELD = re.compile(r"\{(\w+)\}")


def _atom(p: Printer, n: ast.Atom) -> str:
    """A predicate in the canonical form its ``Syntax.text`` gives."""

    def field(match: re.Match[str]) -> str:
        return p.field(getattr(n, match.group(1)))

    def segment(match: re.Match[str]) -> str:
        optional, name = match.groups()
        if optional is None:
            return p.field(getattr(n, name))
        inner = _FIELD.search(optional)
        value = getattr(n, inner.group(1)) if inner else None
        return "" if value is None or value == () else _FIELD.sub(field, optional)

    return _SEGMENT.sub(segment, n.syntax.text)


def _negation(p: Printer, n: ast.Not) -> str:
    """``not P``; an optional leading `is`/`was` is dropped: ``not signed by r``."""
    text = p.predicate(n.item, _AND)
    verb = n.item.syntax.verb if isinstance(n.item, ast.ATOM_TYPES) else ""
    return f"not {text.removeprefix(verb)}"


def _quantifier(p: Printer, n: ast.Quantifier) -> str:
    return n.kind if n.count is None else f"{n.kind} {p(n.count)}"


_SINGULAR = {
    "artifacts": "artifact",
    "steps": "step",
    "attestations": "attestation",
    "models": "model",
    "runs": "run",
}


def _rule(p: Printer, n: ast.Rule) -> str:
    """``every artifact ...`` but ``at least 2 artifacts ...``: the selection reads as English."""
    subject = n.selector.subject if n.quantifier.count else _SINGULAR[n.selector.subject]
    selection = _selector(p, n.selector, subject)
    return f"{p(n.quantifier)} {selection} {p.predicate(n.predicate, 0)}"


def _predicate_nodes() -> dict[type, Callable[[Printer, Any], str]]:
    return {
        ast.Signers: _signers,
        **dict.fromkeys(ast.ATOM_TYPES, _atom),
        ast.AllOf: lambda p, n: " and ".join(p.predicate(i, _AND) for i in n.items),
        ast.AnyOf: lambda p, n: " or ".join(p.predicate(i, _OR) for i in n.items),
        ast.Not: _negation,
        ast.Quantifier: _quantifier,
        ast.Rule: _rule,
    }


_NODES: dict[type, Callable[[Printer, Any], str]] = {
    **_value_nodes(),
    **_declaration_nodes(),
    **_selection_nodes(),
    **_predicate_nodes(),
}


# -- layout: declarations to items ------------------------------------------------------


def _line(kind: str, text: str, *spans: Span) -> Item:
    start, end = span_range(*spans)
    return Item(text, kind, start, end)


def _each(p: Printer, kind: str, nodes: tuple[Any, ...]) -> list[Item]:
    """One ``KIND VALUE`` line per node: ``severity high``, ``require every ...``."""
    return [_line(kind, f"{kind} {p(n)}", n.span) for n in nodes]


def _control_items(p: Printer, n: ast.ControlDecl) -> list[Item]:
    items = _each(p, "severity", n.severity) + _each(p, "stage", n.stage)
    if n.mitigates:
        spans = [t.span for t in n.mitigates]
        items.append(_line("mitigates", f"mitigates {p.join(n.mitigates)}", *spans))
    requires = [_line("require", _require(p, r), r.span) for r in n.rules]
    return items + _each(p, "description", n.description) + requires


def _require(p: Printer, rule: ast.Rule) -> str:
    """``require RULE`` on one line, or, when too long, the selection on the first line and
    each part of the predicate (split at its top-level `or`, else `and`) on its own."""
    line = f"require {p(rule)}"
    if len(INDENT + line) <= WIDTH:
        return line
    subject = rule.selector.subject if rule.quantifier.count else _SINGULAR[rule.selector.subject]
    lines = [f"require {p(rule.quantifier)} {_selector(p, rule.selector, subject)}"]
    predicate = rule.predicate
    if isinstance(predicate, (ast.AnyOf, ast.AllOf)):
        joint, strength = ("or ", _OR) if isinstance(predicate, ast.AnyOf) else ("and ", _AND)
        for k, item in enumerate(predicate.items):
            lines += _part(p, joint if k else "", item, strength)
    else:
        lines += _part(p, "", predicate, 0)
    return "\n".join(lines)


def _part(p: Printer, prefix: str, node: ast.Predicate, strength: int) -> list[str]:
    """The lines of one part of a wrapped predicate; an `attested with` too long for one line
    puts its `where` and `within` clauses on lines of their own."""
    one = CONTINUATION + prefix + p.predicate(node, strength)
    if len(INDENT + one) <= WIDTH or not isinstance(node, ast.AttestedWith):
        return [one]
    head = f"is attested with {p(node.predicate_type)}"
    head += f" by {p(node.signers)}" if node.signers is not None else ""
    deeper = CONTINUATION * 2
    lines = [CONTINUATION + prefix + head]
    if node.conditions:
        conditions = [f"{p(c)}," for c in node.conditions]
        conditions[-1] = conditions[-1][:-1]
        lines += _fill([deeper + "where", *conditions]).split("\n")
    if node.within is not None:
        lines.append(f"{deeper}within {p(node.within)}")
    return lines


def _waiver_items(p: Printer, n: ast.WaiverDecl) -> list[Item]:
    return (
        _each(p, "owner", n.owner) + _each(p, "reason", n.reason) + _each(p, "expires", n.expires)
    )


_KINDS: dict[type, str] = {
    ast.PolicyDecl: "policy",
    ast.PackDecl: "pack",
    ast.ParameterDecl: "parameter",
    ast.ImportDecl: "import",
    ast.KeyDecl: "key",
    ast.KeySetDecl: "key",
    ast.LayoutDecl: "layout",
    ast.CaDecl: "ca",
    ast.IdentityDecl: "identity",
    ast.RoleDecl: "role",
    ast.StageDecl: "stage",
    ast.AttestationsDecl: "attestations",
    ast.OnUnjudgedDecl: "on",
    ast.SignaturesDecl: "signatures",
    ast.MlflowDecl: "mlflow",
    ast.ControlDecl: "control",
    ast.WaiverDecl: "waive",
}


def declaration_item(p: Printer, decl: ast.Declaration) -> Item:
    """The item of one declaration: a line, or a block for controls and waivers."""
    item = _line(_KINDS[type(decl)], p(decl), decl.span)
    if isinstance(decl, ast.ControlDecl):
        item.children = _control_items(p, decl)
    elif isinstance(decl, ast.WaiverDecl):
        item.children = _waiver_items(p, decl)
    return item


# -- rendering ------------------------------------------------------------------------------


def _comment_lines(comments: list[Comment], indent: str) -> list[str]:
    """Comments one per line; a blank line after one stays (between these lines only)."""
    out: list[str] = []
    for i, comment in enumerate(comments):
        out.append(indent + comment.text)
        if comment.blank_after and i + 1 < len(comments):
            out.append("")
    return out


def _footer(comments: list[Comment], indent: str, after_items: bool) -> list[str]:
    if not comments:
        return []
    gap = [""] if after_items and comments[0].blank_before else []
    return gap + _comment_lines(comments, indent)


def _suffix(comment: Comment | None) -> str:
    return "" if comment is None else f" {comment.text}"


def render_item(item: Item, indent: str = "") -> list[str]:
    """The lines of an item: leading comments, the item, its trailing comment."""
    out = _comment_lines(item.leading, indent)
    if item.leading and item.leading[-1].blank_after:
        out.append("")
    if item.children is None:
        text = item.text.replace("\n", "\n" + indent)
        return [*out, *(indent + text + _suffix(item.trailing)).split("\n")]
    out.append(f"{indent}{item.text} {{{_suffix(item.header)}")
    for child in item.children:
        out += render_item(child, indent + INDENT)
    out += _footer(item.footer, indent + INDENT, bool(item.children))
    out.append(indent + "}" + _suffix(item.trailing))
    return out


def _grouped(previous: Item, item: Item) -> bool:
    kind = _GROUP_OF.get(item.kind, item.kind)
    return _GROUP_OF.get(previous.kind, previous.kind) == kind and kind in GROUPED


def format_module(module: ast.Module, comments: list[Comment], source: str | None = None) -> str:
    """``module`` in the canonical layout, with ``comments`` (from :func:`scan_comments`) kept.

    ``source``, the text the module was parsed from, lets numbers keep their digits.
    """
    printer = Printer(source)
    items = [declaration_item(printer, d) for d in module.declarations]
    end_of_file = attach(comments, items)
    lines: list[str] = []
    for i, item in enumerate(items):
        if i > 0 and not _grouped(items[i - 1], item):
            lines.append("")
        lines += render_item(item)
    lines += _footer(end_of_file, "", bool(items))
    return "\n".join(lines) + "\n" if lines else ""


def format_text(text: str, file: str = "<policy>") -> str:
    """``text`` formatted; raises :class:`FormatError` with its diagnostics if it does not parse.

    The result is parsed again and must give the same AST and the same comments:
    a formatter bug raises ``RuntimeError`` rather than change a policy.
    """
    from policy_engine.language.parser import parse_text

    parsed = parse_text(text, file)
    if parsed.diagnostics:
        raise FormatError(parsed.diagnostics)
    formatted = format_module(parsed.module, list(parsed.comments), text)
    again = parse_text(formatted, file)
    kept = sorted(c.text for c in again.comments) == sorted(c.text for c in parsed.comments)
    if again.diagnostics or again.module != parsed.module or not kept:
        raise RuntimeError(f"formatting `{file}` would change its meaning; left as it is")
    return formatted
