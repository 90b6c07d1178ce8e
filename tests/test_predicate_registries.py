"""Every predicate is complete in every place that reads it: grammar, syntax, IR, evaluator.

A predicate is a grammar rule, a syntax class in ``language/ast.py``, an IR class of the
same name in ``compiler/ir.py`` and an evaluator registered in ``evaluate/predicates``.
This test builds one instance of each syntax class from its field types, prints it,
parses it back, compiles it and evaluates it: a missing piece fails here, by name.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from policy_engine.compiler import compile_modules, ir
from policy_engine.evaluate.evaluator import evaluate
from policy_engine.evaluate.predicates import PREDICATES
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.language import ast, parse_text
from policy_engine.language.grammar import grammar_text
from policy_engine.language.printer import Printer

ATOMS = sorted(ast.ATOMS.items())


def _sample(cls: type, name: str, hint: object) -> object:
    """A valid value for one field of a predicate, from its type."""
    if typing.get_origin(hint) in (typing.Union, type(int | None)):
        members = tuple(a for a in typing.get_args(hint) if a is not type(None))
        hint = ast.Value if set(members) == set(typing.get_args(ast.Value)) else members[0]
    if hint is ast.Signers:
        return ast.Signers(ast.Name("team"), ast.Number(1))
    if hint is ast.Selector:
        return ast.Selector(cls.syntax.nested[0])
    if hint is ast.Name:
        return ast.Name("team")
    if hint is ast.Number:
        return ast.Number(1)
    if hint is str:
        return "=="
    if hint == ast.Value:
        return ast.Duration("1d") if name in cls.syntax.durations else ast.Number(1)
    if hint == tuple[ast.Text, ...] or hint is ast.Text:
        text = ast.Text("x")
        return text if hint is ast.Text else (text,)
    if hint == tuple[ast.Condition, ...]:
        return (ast.Exists(ast.Field(("a",))),)
    raise AssertionError(f"{cls.__name__}.{name}: no sample for {hint}")


def _instance(cls: type) -> ast.Atom:
    hints = typing.get_type_hints(cls, vars(ast))
    fields = [f.name for f in dataclasses.fields(cls) if f.name != "span"]
    return cls(**{f: _sample(cls, f, hints[f]) for f in fields})


def _rule_text(atom: ast.Atom) -> str:
    subject = {
        "artifacts": "artifact",
        "steps": "step",
        "attestations": "attestation",
        "models": "model",
        "runs": "run",
    }
    return f"every {subject[atom.syntax.applies_to[0]]} {Printer()(atom)}"


def _policy(rule: str) -> str:
    return (
        'policy "p"\nkey alice from "keys/alice.pub"\nrole team = alice\n'
        f'control C-1 "c" {{\n  severity low\n  stage model_training\n  require {rule}\n}}\n'
    )


def test_every_union_member_is_registered_by_its_rule_name() -> None:
    assert set(ast.ATOMS.values()) == set(typing.get_args(ast.Atom))
    assert set(ir.ATOMS.values()) == set(typing.get_args(ir.Atom))


@pytest.mark.parametrize(("rule", "cls"), ATOMS, ids=[name for name, _ in ATOMS])
def test_the_grammar_has_a_rule_of_its_name(rule: str, cls: type) -> None:
    grammar = grammar_text()
    assert re.search(rf"->\s*{rule}\b", grammar), f"no `-> {rule}` in the grammar"
    assert isinstance(cls.syntax, ast.Syntax)
    assert set(cls.syntax.applies_to) <= {"artifacts", "steps", "attestations", "models", "runs"}


@pytest.mark.parametrize(("rule", "cls"), ATOMS, ids=[name for name, _ in ATOMS])
def test_it_prints_parses_compiles_and_evaluates(
    rule: str, cls: type, tmp_path: Path, key_dir: Callable[[Path], Path]
) -> None:
    key_dir(tmp_path)
    atom = _instance(cls)
    text = _policy(_rule_text(atom))
    parsed = parse_text(text, "p.policy")
    assert parsed.diagnostics == (), text
    parsed_atom = parsed.module.declarations[-1].rules[0].predicate
    assert parsed_atom == atom, f"{rule} does not print and parse back:\n{text}"

    result = compile_modules([parsed.module], tmp_path)
    assert result.policy is not None, [d.message for d in result.diagnostics]
    lowered = result.policy.controls[0].rules[0].predicate
    assert type(lowered) is ir.ATOMS[cls.__name__]
    assert type(lowered) in PREDICATES, f"no evaluator registered for ir.{cls.__name__}"

    graph = ProvenanceGraph(str(tmp_path))
    evaluation = evaluate(result.policy, graph, datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert evaluation.controls[0].control.id == "C-1"


@pytest.mark.parametrize(("rule", "cls"), ATOMS, ids=[name for name, _ in ATOMS])
def test_ir_fields_are_the_syntax_fields_lowered(rule: str, cls: type) -> None:
    syntax = {f.name for f in dataclasses.fields(cls)} - {"span"}
    if "signers" in syntax:
        syntax = (syntax - {"signers"}) | {"role", "threshold"}
    lowered = {f.name for f in dataclasses.fields(ir.ATOMS[cls.__name__])}
    assert lowered == syntax
