"""The artifact rules judge as in-toto's ``verify_item_rules`` does, on generated links.

MATCH with the pattern ``*`` has a fast path (whole dicts compared when every path
is queued); links that agree, disagree by a digest, a path or an extra path, with
DISALLOW after it, must fail exactly when in-toto's rules fail.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.intoto.model import Artifacts, Link
from policy_engine.intoto.rules import check_rules, parse_rule

verifylib = pytest.importorskip("in_toto.verifylib")
RuleVerificationError = pytest.importorskip("in_toto.exceptions").RuleVerificationError

PATHS = st.sampled_from(["a", "b", "c", "d/e", "d/f"])
DIGESTS = st.sampled_from([{"sha256": "1" * 64}, {"sha256": "2" * 64}, {"sha512": "1" * 64}])
ARTIFACTS = st.dictionaries(PATHS, DIGESTS, max_size=5)
PATTERNS = st.sampled_from(["*", "d/*", "a", "x"])
GENERIC = st.tuples(st.sampled_from(["CREATE", "DELETE", "MODIFY", "ALLOW", "DISALLOW"]), PATTERNS)
MATCH = st.builds(
    lambda pattern, kind: ("MATCH", pattern, "WITH", kind, "FROM", "prev"),
    PATTERNS,
    st.sampled_from(["MATERIALS", "PRODUCTS"]),
)
RULES = st.lists(st.one_of(MATCH, GENERIC), max_size=4).map(lambda r: [*r, ("DISALLOW", "*")])


def in_toto_fails(
    item: str, kind: str, rules: list[tuple[str, ...]], links: dict[str, Link]
) -> bool:
    try:
        verifylib.verify_item_rules(item, kind, [list(r) for r in rules], links)
    except RuleVerificationError:
        return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    materials=ARTIFACTS,
    products=ARTIFACTS,
    previous=ARTIFACTS,
    variant=st.sampled_from(["own", "same", "digest changed"]),
    kind=st.sampled_from(["materials", "products"]),
    rules=RULES,
)
def test_rules_judge_as_in_toto(
    materials: Artifacts,
    products: Artifacts,
    previous: Artifacts,
    variant: str,
    kind: str,
    rules: list[tuple[str, ...]],
) -> None:
    if variant != "own":  # the common chain: this step's materials are the previous products
        previous = dict(materials)
    if variant == "digest changed" and previous:
        path = sorted(previous)[0]
        previous[path] = {"sha256": "f" * 64}
    links = {"s": Link("s", (), materials, products), "prev": Link("prev", (), previous, previous)}
    problems = check_rules("s", kind, [parse_rule(r) for r in rules], links)
    assert bool(problems) == in_toto_fails("s", kind, rules, links)
