"""in-toto's artifact rules: parsing, and the firewall's order (first match consumes)."""

from __future__ import annotations

import pytest

from policy_engine.intoto.model import Link
from policy_engine.intoto.rules import RuleFormatError, check_rules, parse_rule

A, B = {"sha256": "a" * 64}, {"sha256": "b" * 64}


def codes(rules: list[list[str]], links: dict[str, Link], kind: str = "products") -> list[str]:
    return [p.code for p in check_rules("s", kind, [parse_rule(r) for r in rules], links)]


@pytest.mark.parametrize(
    "words",
    [
        ["MATCH", "*"],
        ["CREATE"],
        ["ALLOW", "a", "b"],
        ["MATCH", "*", "WITH", "X", "FROM", "s"],
        ["NOPE", "*"],
        ["MATCH", "*", "IN", "p", "WITH", "products", "FROM"],
    ],
)
def test_malformed_rules(words: list[str]) -> None:
    with pytest.raises(RuleFormatError):
        parse_rule(words)


def test_match_forms_and_case() -> None:
    rule = parse_rule(["match", "*.py", "in", "src", "with", "Products", "in", "out", "from", "b"])
    assert (rule.source_prefix, rule.dest_type, rule.dest_prefix, rule.dest_name) == (
        "src",
        "products",
        "out",
        "b",
    )


def test_first_match_consumes_and_disallow_sees_the_rest() -> None:
    link = Link("s", materials={"m": A}, products={"m": B, "new": A, "other": A})
    links = {"s": link}
    assert codes([["MODIFY", "m"], ["CREATE", "new"], ["DISALLOW", "*"]], links) == [
        "rule-disallow"
    ]
    assert codes([["MODIFY", "*"], ["CREATE", "*"], ["DISALLOW", "*"]], links) == []
    assert codes([["DISALLOW", "nothing"]], links) == []  # implicit ALLOW * for the rest


def test_match_with_prefixes_and_require() -> None:
    links = {
        "s": Link("s", materials={"src/a.py": A, "src/b.py": B}),
        "prev": Link("prev", products={"out/a.py": A, "out/b.py": A}),
    }
    rules = [
        ["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "IN", "out", "FROM", "prev"],
        ["DISALLOW", "*"],
    ]
    (problem,) = check_rules("s", "materials", [parse_rule(r) for r in rules], links)
    assert problem.evidence[-1] == ("path", "src/b.py")  # its digest differs
    assert codes([["REQUIRE", "src/a.py"]], links, "materials") == []
    assert codes([["ALLOW", "src/*"], ["REQUIRE", "src/a.py"]], links, "materials") == [
        "rule-require"
    ]
    assert codes(
        [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "absent"], ["DISALLOW", "*"]],
        links,
        "materials",
    ) == ["rule-disallow"]
