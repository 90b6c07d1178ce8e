"""Properties of the formatter, with random syntax trees and the repository's policies.

- parse(print(tree)) == tree for random valid trees, and printing is idempotent;
- random comments added anywhere survive formatting, each once, and the result
  is a fixed point;
- for every policy file of the repository and every YAML case input,
  parse(fmt(p)) == parse(p) and fmt(fmt(p)) == fmt(p).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.language import ast, parse_text
from policy_engine.language.comments import scan_comments
from policy_engine.language.printer import format_module, format_text

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _grammar_words() -> frozenset[str]:
    grammar = (ROOT / "grammar" / "mlpolicy.lark").read_text(encoding="utf-8")
    quoted = {part for line in grammar.splitlines() for part in line.split('"')[1::2]}
    return frozenset(w for w in quoted if w.isidentifier())


KEYWORDS = _grammar_words()

# -- leaves -------------------------------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
name_nodes = names.map(ast.Name)
control_ids = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,3}([-_.][A-Za-z0-9]{1,3}){0,2}", fullmatch=True)
# Any text: quotes, backslashes, newlines and tabs need escapes; other controls stay as they are.
characters = st.characters(blacklist_categories=("Cs",)) | st.sampled_from('\n\t"\\#{}')
texts = st.text(characters, max_size=8).map(ast.Text)
globs = st.lists(texts, min_size=1, max_size=3).map(tuple)
operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
integers = st.integers(-1000, 1000).map(ast.Number)
decimals = st.decimals(-1000, 1000, places=3, allow_nan=False, allow_infinity=False)
numbers = integers | decimals.map(lambda d: ast.Number(float(d)))
durations = st.builds(
    lambda n, u: ast.Duration(f"{n}{u}"), st.integers(0, 999), st.sampled_from("smhdw")
)
dates = st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True).map(ast.Date)
scalars = (
    numbers
    | texts
    | durations
    | dates
    | st.booleans().map(ast.Bool)
    | name_nodes.map(ast.Reference)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3).map(lambda v: ast.ListValue(tuple(v))),
    max_leaves=6,
)
lists = st.lists(values, max_size=3).map(lambda v: ast.ListValue(tuple(v)))
field_parts = names | st.sampled_from(sorted(KEYWORDS)) | texts.map(lambda t: t.value)
fields = st.lists(field_parts, min_size=1, max_size=3).map(lambda p: ast.Field(tuple(p)))

# -- selections, conditions, predicates ----------------------------------------------

ARTIFACT_FILTERS = (
    globs.map(ast.Matching)
    | name_nodes.map(ast.OfKind)
    | name_nodes.map(ast.InStage)
    | name_nodes.map(ast.ProducedIn)
    | globs.map(ast.ProducedMatching)
)
STEP_FILTERS = (
    globs.map(ast.Matching)
    | name_nodes.map(ast.InStage)
    | st.builds(ast.WhereField, fields, operators, values)
)
ATTESTATION_FILTERS = globs.map(ast.OfType) | name_nodes.map(ast.FromRole) | globs.map(ast.About)
FILTERS = {
    "artifacts": ARTIFACT_FILTERS,
    "steps": STEP_FILTERS,
    "attestations": ATTESTATION_FILTERS,
}


def selectors(subject: str | None = None) -> st.SearchStrategy[ast.Selector]:
    kinds = st.just(subject) if subject else st.sampled_from(sorted(FILTERS))
    return kinds.flatmap(
        lambda s: st.lists(FILTERS[s], max_size=3).map(lambda f: ast.Selector(s, tuple(f)))
    )


conditions = st.lists(
    st.builds(ast.Compare, fields, operators, values)
    | st.builds(ast.Member, fields, lists)
    | st.builds(ast.Exists, fields, st.booleans()),
    min_size=1,
    max_size=3,
).map(tuple)
signers = st.builds(ast.Signers, name_nodes, st.none() | st.integers(0, 20).map(ast.Number))
atoms = st.one_of(
    signers.map(ast.SignedBy),
    selectors().map(ast.DerivesFrom),
    selectors().map(ast.ProducedBy),
    st.just(ast.ReachesSource()),
    selectors().map(ast.NoLineageThrough),
    st.just(ast.Tracked()),
    st.just(ast.MatchesWorkspace()),
    name_nodes.map(ast.PerformedBy),
    st.just(ast.RunsDeclaredCommand()),
    globs.map(ast.CommandMatches),
    st.builds(
        ast.AttestedWith,
        texts,
        st.none() | signers,
        st.just(()) | conditions,
        st.none() | values,
    ),
    texts.map(ast.HasParam),
    st.builds(ast.ParamCompare, texts, operators, values),
    values.map(ast.IssuedWithin),
    conditions.map(ast.Satisfies),
)


def _combined(inner: st.SearchStrategy[ast.Predicate]) -> st.SearchStrategy[ast.Predicate]:
    many = st.lists(inner, min_size=2, max_size=3).map(tuple)
    return many.map(ast.AllOf) | many.map(ast.AnyOf) | inner.map(ast.Not)


predicates = st.recursive(atoms, _combined, max_leaves=8)
quantifiers = st.sampled_from(["every", "some", "no"]).map(ast.Quantifier) | numbers.map(
    lambda n: ast.Quantifier("at least", n)
)
rules = st.builds(ast.Rule, quantifiers, selectors(), predicates)

# -- declarations ------------------------------------------------------------------------


def _tuple(strategy: st.SearchStrategy, low: int = 0, high: int = 2) -> st.SearchStrategy:
    return st.lists(strategy, min_size=low, max_size=high).map(tuple)


step_sets = globs.map(ast.StepsNamed) | st.builds(ast.StepsWhere, fields, operators, values)
declarations = st.one_of(
    texts.map(ast.PolicyDecl),
    name_nodes.map(ast.PackDecl),
    st.builds(ast.ParameterDecl, name_nodes, name_nodes, st.none() | values),
    st.builds(ast.ImportDecl, texts, _tuple(st.builds(ast.Binding, name_nodes, values), 0, 3)),
    st.builds(ast.KeyDecl, name_nodes, texts),
    st.builds(ast.RoleDecl, name_nodes, _tuple(name_nodes, 1, 3)),
    st.builds(ast.StageDecl, name_nodes, _tuple(step_sets, 1, 3)),
    texts.map(ast.AttestationsDecl),
    st.builds(
        ast.ControlDecl,
        control_ids.map(ast.Name),
        texts,
        _tuple(name_nodes),
        _tuple(name_nodes),
        _tuple(texts),
        _tuple(texts, 0, 3),
        _tuple(rules, 0, 3),
    ),
    st.builds(
        ast.WaiverDecl,
        control_ids.map(ast.Name),
        globs,
        _tuple(texts),
        _tuple(texts),
        _tuple(dates),
    ),
)
modules = _tuple(declarations, 0, 5).map(lambda d: ast.Module("<policy>", d))


@pytest.mark.slow  # a heavy property test
@SETTINGS
@given(modules)
def test_printing_then_parsing_gives_the_tree_back(module: ast.Module) -> None:
    text = format_module(module, [])
    parsed = parse_text(text)
    assert parsed.diagnostics == ()
    assert parsed.module == module
    assert format_module(parsed.module, [], text) == text
    assert text == "" or (text.endswith("\n") and not text.endswith("\n\n"))


# -- comments anywhere ---------------------------------------------------------------------

comment_texts = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=10).map(
    lambda t: ("#" + t).rstrip()
)


@st.composite
def commented(draw: st.DrawFn) -> str:
    """A printed random module with comments added on their own lines and after lines."""
    lines = format_module(draw(modules), []).split("\n")[:-1]  # not splitlines: `\r` in strings
    out: list[str] = []
    for line in [*lines, ""]:
        if draw(st.booleans()):
            out.append(" " * draw(st.integers(0, 4)) + draw(comment_texts))
        if draw(st.booleans()) and line.strip():
            line += " " * draw(st.integers(0, 2)) + draw(comment_texts)
        out.append(line)
    return "\n".join(out)


def _comment_texts(text: str) -> Counter[str]:
    return Counter(c.text for c in scan_comments(text))


@pytest.mark.slow  # a heavy property test
@SETTINGS
@given(commented())
def test_comments_anywhere_are_kept_once_and_formatting_is_a_fixed_point(text: str) -> None:
    formatted = format_text(text)
    assert parse_text(formatted).module == parse_text(text).module
    assert _comment_texts(formatted) == _comment_texts(text)
    assert format_text(formatted) == formatted


# -- the repository's own policies and the YAML inputs ---------------------------------------

POLICY_FILES = sorted(
    [
        *(ROOT / "fixtures").glob("*/policies/*.policy"),
        *(ROOT / "policies").glob("**/*.policy"),
    ]
)
YAML_INPUTS = [
    case["input"]
    for case in yaml.safe_load(
        (ROOT / "tests" / "language" / "cases" / "fmt.yaml").read_text(encoding="utf-8")
    )
]
SOURCES = [p.read_text(encoding="utf-8") for p in POLICY_FILES] + YAML_INPUTS
SOURCE_IDS = [str(p.relative_to(ROOT)) for p in POLICY_FILES] + [
    f"fmt.yaml[{i}]" for i in range(len(YAML_INPUTS))
]


def test_the_repository_has_policy_files_to_check() -> None:
    assert len(POLICY_FILES) >= 3


@pytest.mark.parametrize("text", SOURCES, ids=SOURCE_IDS)
def test_formatting_keeps_the_meaning_and_is_idempotent(text: str) -> None:
    formatted = format_text(text)
    assert parse_text(formatted).module == parse_text(text).module
    assert format_text(formatted) == formatted
