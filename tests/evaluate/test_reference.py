"""The real evaluator agrees with the reference evaluator on random small graphs and rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
import reference  # the reference evaluator beside this file
from conftest import public_pem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.compiler import compile_modules, ir
from policy_engine.evaluate import evaluate
from policy_engine.language import parse_text
from policy_engine.testing.spec import AttestationSpec, GraphSpec, StepSpec, build_graph

PATHS = ["data/raw.csv", "data/f.csv", "models/m.pkl", "models/n.pkl"]
STEPS = ["prep", "train", "tune"]
KEYS = ["alice", "bob", "mallory"]
DIGEST = st.dictionaries(st.sampled_from(["md5"]), st.sampled_from(["x", "y"]), max_size=1)
SHA = st.dictionaries(st.sampled_from(["sha256"]), st.sampled_from(["x", "y"]), max_size=1)
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


@st.composite
def graphs(draw: st.DrawFn) -> GraphSpec:
    steps = [
        StepSpec(
            name=name,
            inputs=draw(st.dictionaries(st.sampled_from(PATHS), DIGEST, max_size=2)),
            outputs=draw(st.dictionaries(st.sampled_from(PATHS), DIGEST, max_size=2)),
        )
        for name in draw(st.lists(st.sampled_from(STEPS), unique=True, max_size=3))
    ]
    links = [
        AttestationSpec(
            file=f"att/{i}.link",
            step=draw(st.sampled_from(STEPS)),
            materials=draw(st.dictionaries(st.sampled_from(PATHS), SHA, max_size=2)),
            products=draw(st.dictionaries(st.sampled_from(PATHS), SHA, max_size=2)),
            signed_by=draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=2)),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    workspace = draw(
        st.dictionaries(
            st.sampled_from(PATHS),
            st.fixed_dictionaries({"sha256": st.sampled_from(["x", "y"])}),
            max_size=4,
        )
    )
    return GraphSpec(steps=steps, attestations=links, workspace=workspace)


def predicates(roles: dict[str, ir.Role], on_steps: bool) -> st.SearchStrategy[ir.Predicate]:
    role = st.sampled_from(sorted(roles.values(), key=lambda r: r.name))
    if on_steps:
        leaves = st.builds(ir.PerformedBy, role)
    else:
        sources = st.sampled_from([("data/raw.csv",), ("data/*",), ("models/m.pkl",)])
        leaves = st.one_of(
            st.builds(ir.SignedBy, role, st.integers(1, 2)),
            st.builds(
                lambda g: ir.DerivesFrom(ir.Selector("artifacts", (ir.Matching(g),))), sources
            ),
        )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(ir.Not, inner),
            st.builds(
                lambda items: ir.AllOf(tuple(items)), st.lists(inner, min_size=2, max_size=3)
            ),
            st.builds(
                lambda items: ir.AnyOf(tuple(items)), st.lists(inner, min_size=2, max_size=3)
            ),
        ),
        max_leaves=4,
    )


@st.composite
def rules(draw: st.DrawFn, roles: dict[str, ir.Role]) -> ir.Rule:
    on_steps = draw(st.booleans())
    pattern = draw(st.sampled_from(["**", "models/*"] if not on_steps else ["*", "t*"]))
    selector = ir.Selector("steps" if on_steps else "artifacts", (ir.Matching((pattern,)),))
    quantifier = draw(st.sampled_from(["every", "some", "no", "at least"]))
    count = draw(st.integers(1, 2)) if quantifier == "at least" else 1
    return ir.Rule(
        quantifier, count, selector, draw(predicates(roles, on_steps)), ir.Location("p", 1, 1)
    )


@pytest.fixture(scope="module")
def base_policy(tmp_path_factory: pytest.TempPathFactory, signers: dict) -> ir.PolicySet:
    root = tmp_path_factory.mktemp("keys")
    (root / "keys").mkdir()
    for name, signer in signers.items():
        (root / "keys" / f"{name}.pub").write_bytes(public_pem(signer))
    text = "\n".join(f'key {k} from "keys/{k}.pub"' for k in KEYS)
    text += "\nrole team = alice, bob\nrole solo = mallory\n"
    compiled = compile_modules([parse_text(text, "p").module], root)
    assert compiled.policy is not None
    return compiled.policy


@pytest.mark.slow  # a heavy property test
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_real_evaluator_agrees_with_the_reference(base_policy: ir.PolicySet, data) -> None:
    spec = data.draw(graphs())
    drawn = data.draw(st.lists(rules(base_policy.roles), min_size=1, max_size=3))
    controls = tuple(
        ir.Control(f"C{i}", "t", "high", "outputs", "", (), (rule,), ir.Location("p", i, 1))
        for i, rule in enumerate(drawn)
    )
    policy = replace(base_policy, controls=controls)
    real = evaluate(policy, build_graph(spec, policy), NOW)
    named = reference.all_artifacts(spec) | {s.name for s in spec.steps}
    got = {
        (f.control, f.subject if f.subject in named else "<selection>")
        for f in real.findings
        if not f.control.startswith("builtin/")
    }
    assert got == reference.findings(policy, spec)
