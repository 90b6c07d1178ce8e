"""The parser: valid policies to AST, and every syntax error rendered exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policy_engine.diagnostics import render_all
from policy_engine.language import ast, parse_file, parse_text
from policy_engine.language.comments import Comment
from policy_engine.language.parser import MAX_SYNTAX_ERRORS

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "syntax-errors.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_syntax_errors_render_exactly(case: dict) -> None:
    result = parse_text(case["policy"], "bad.policy")
    assert (
        render_all(result.diagnostics, {"bad.policy": case["policy"]}) + "\n" == case["diagnostics"]
    )


FULL = """\
# a comment
policy "p"   # trailing comment
attestations in "att"
key alice from "keys/a.pub"
role team = alice, alice
stage model_training = steps "train*", "tune" or steps where meta.lifecycle == "training"
control TR-01 "Title \\"quoted\\"" {
  severity high
  stage model_training
  mitigates "Trojan Models"
  description "why"
  require every artifact matching "models/**" is signed by at least 2 of team
  require some artifacts matching "m" derives from artifacts matching "data/*" or not signed by team
  require no steps in model_training is performed by team and (performed by team)
  require at least 2 artifacts of kind model
    is attested with "https://x/y/v1" by team where m.ece < 0.05, m.kind in ["a", "b"] within 30d
}
waive TR-01 for "models/old/*" {
  owner "ml-lead@example.com"
  reason "retired model"
  expires 2027-01-31
}
"""


def test_every_construct_parses_to_the_expected_ast() -> None:
    result = parse_text(FULL, "p.policy")
    assert result.diagnostics == ()
    decls = result.module.declarations
    assert decls[0] == ast.PolicyDecl(ast.Text("p"))
    assert decls[1] == ast.AttestationsDecl(ast.Text("att"))
    assert decls[3] == ast.RoleDecl(ast.Name("team"), (ast.Name("alice"), ast.Name("alice")))
    assert decls[4] == ast.StageDecl(
        ast.Name("model_training"),
        (
            ast.StepsNamed((ast.Text("train*"), ast.Text("tune"))),
            ast.StepsWhere(ast.Field(("meta", "lifecycle")), "==", ast.Text("training")),
        ),
    )
    control = decls[5]
    assert isinstance(control, ast.ControlDecl)
    assert control.id == ast.Name("TR-01")
    assert control.title == ast.Text('Title "quoted"')
    assert control.mitigates == (ast.Text("Trojan Models"),)
    signed, derives, performed, attested = control.rules
    models = ast.Selector("artifacts", (ast.Matching((ast.Text("models/**"),)),))
    team = ast.Signers(ast.Name("team"))
    assert signed == ast.Rule(
        ast.Quantifier("every"),
        models,
        ast.SignedBy(ast.Signers(ast.Name("team"), ast.Number(2))),
    )
    assert derives.predicate == ast.AnyOf(
        (
            ast.DerivesFrom(ast.Selector("artifacts", (ast.Matching((ast.Text("data/*"),)),))),
            ast.Not(ast.SignedBy(team)),
        )
    )
    assert performed.quantifier == ast.Quantifier("no")
    assert performed.predicate == ast.AllOf(
        (ast.PerformedBy(ast.Name("team")), ast.PerformedBy(ast.Name("team")))
    )
    assert attested.quantifier == ast.Quantifier("at least", ast.Number(2))
    assert attested.selector == ast.Selector("artifacts", (ast.OfKind(ast.Name("model")),))
    assert attested.predicate == ast.AttestedWith(
        ast.Text("https://x/y/v1"),
        team,
        (
            ast.Compare(ast.Field(("m", "ece")), "<", ast.Number(0.05)),
            ast.Member(ast.Field(("m", "kind")), ast.ListValue((ast.Text("a"), ast.Text("b")))),
        ),
        ast.Duration("30d"),
    )
    assert decls[6] == ast.WaiverDecl(
        ast.Name("TR-01"),
        (ast.Text("models/old/*"),),
        (ast.Text("ml-lead@example.com"),),
        (ast.Text("retired model"),),
        (ast.Date("2027-01-31"),),
    )


def test_spans_point_at_the_source_and_are_ignored_by_equality() -> None:
    result = parse_text(FULL, "p.policy")
    control = result.module.declarations[5]
    assert isinstance(control, ast.ControlDecl)
    role = control.rules[0].predicate.signers.role  # type: ignore[union-attr]
    assert (role.span.file, role.span.line, role.span.column) == ("p.policy", 12, 74)
    assert role == ast.Name("team")


def test_a_stage_item_at_column_one_inside_a_control_stays_in_the_control() -> None:
    text = 'control C-1 "x" {\nseverity low\nstage model_training\n}\n'
    result = parse_text(text, "p.policy")
    assert result.diagnostics == ()
    assert len(result.module.declarations) == 1


def test_comments_come_from_the_lexer_with_their_positions() -> None:
    text = 'key k from "#not-a-comment"   # trailing  \n\n  # own line\nrole r = k\n'
    assert parse_text(text).comments == (
        Comment(1, 31, "# trailing", own_line=False, blank_after=True),
        Comment(3, 3, "# own line", own_line=True, blank_before=True),
    )


def test_errors_past_the_cap_are_counted_and_parsing_reaches_the_end() -> None:
    text = "role r = a b\n" * 20_000 + 'key k from "k.pub"\n'
    result = parse_text(text, "p.policy")
    assert len(result.diagnostics) == MAX_SYNTAX_ERRORS + 1
    assert {d.code for d in result.diagnostics[:-1]} == {"E001"}
    more = result.diagnostics[-1]
    assert (more.code, more.message) == ("E006", "too many syntax errors: 19900 more not shown")
    assert more.span is not None and more.span.line == MAX_SYNTAX_ERRORS + 1
    assert result.module.declarations == (ast.KeyDecl(ast.Name("k"), ast.Text("k.pub")),)


def test_unreadable_files_are_diagnostics(tmp_path: Path) -> None:
    missing = parse_file(tmp_path / "nope.policy", "nope.policy")
    assert [(d.code, d.message) for d in missing.diagnostics] == [
        ("E005", "`nope.policy`: file not found")
    ]
    binary = tmp_path / "bin.policy"
    binary.write_bytes(b"\xff\xfe\x00")
    assert parse_file(binary).diagnostics[0].code == "E005"
