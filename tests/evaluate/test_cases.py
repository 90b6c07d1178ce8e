"""The evaluation case corpus: YAML files of a policy and graphs with expected findings.

Add a case by adding YAML to tests/evaluate/cases/; no Python needed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from policy_engine.compiler import compile_modules
from policy_engine.language import parse_text
from policy_engine.testing.runner import PolicyTest, run_case
from policy_engine.testing.spec import build_graph

CASES = Path(__file__).parent / "cases"
PARAMS = [
    pytest.param(path, index, id=f"{path.stem}: {case['name']}")
    for path in sorted(CASES.glob("*.yaml"))
    for index, case in enumerate(yaml.safe_load(path.read_text())["tests"])
]


@pytest.mark.parametrize(("path", "index"), PARAMS)
def test_case(path: Path, index: int, tmp_path: Path, key_dir: Callable[[Path], Path]) -> None:
    document = yaml.safe_load(path.read_text())
    key_dir(tmp_path)
    parsed = parse_text(document["policy"], path.name)
    assert parsed.diagnostics == ()
    compiled = compile_modules([parsed.module], tmp_path)
    assert compiled.policy is not None, compiled.diagnostics
    case = PolicyTest.model_validate(document["tests"][index])
    assert case.graph is not None
    result = run_case(case, compiled.policy, build_graph(case.graph, compiled.policy), path.name)
    unexpected = [(f.control, f.subject, f.message, f.waived) for f in result.unexpected]
    assert (result.missing, unexpected) == ((), [])
