"""Selections filtered in bulk equal the filters applied subject by subject."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from policy_engine.compiler import ir
from policy_engine.evaluate import selectors
from policy_engine.evaluate.context import EvalContext
from policy_engine.graph.model import ProvenanceGraph, SourceRef, Step

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
PATHS = [
    "out/a.bin",
    "out/s1/0.bin",
    "out",
    "outx/a.bin",
    "data/raw.csv",
    "data/sub/raw.csv",
    "data/.hidden",
    "weird/[x]/*.bin",
    "weird/new\nline.csv",
    "ünï/çødé.txt",
    "a/b/c/d/e/f.txt",
]
NAMES = ["s1", "s10", "train", "s/x", "S2", "s\n3"]
GLOBS = [("out/**",), ("data/*",), ("**/*.csv",), ("out/*", "data/**"), ("weird/[[]x]/*",), ()]
GLOBS += [("s*",), ("s?",), ("*",), ("[!s]*",)]


def _context(rng: random.Random) -> EvalContext:
    graph = ProvenanceGraph("/r")
    for path in rng.sample(PATHS, len(PATHS)):
        graph.add_artifact(path)
    for name in rng.sample(NAMES, len(NAMES)):
        graph.add_step(Step(name, SourceRef("dvc.yaml", 1)))
    policy = ir.PolicySet("p", {}, {}, {}, (), (), (), ir.Location("p.policy", 1, 1))
    return EvalContext(policy, graph, NOW)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["artifacts", "steps"])
def test_matching_in_bulk_equals_the_filter_subject_by_subject(seed: int, kind: str) -> None:
    rng = random.Random(seed)
    for patterns in GLOBS:
        ctx = _context(rng)
        first = ir.Matching(patterns)
        second = ir.Matching(tuple(rng.sample(GLOBS, 1)[0]))
        selector = ir.Selector(kind, (first, second))
        check = selectors.FILTERS[kind][ir.Matching]
        expected = [
            s
            for s in selectors.universe(selector, ctx)
            if check(first, s, ctx) and check(second, s, ctx)
        ]
        assert selectors.select(selector, ctx) == expected
