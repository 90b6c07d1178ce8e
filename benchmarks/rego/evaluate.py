"""Evaluate ``scale.rego`` on an exported graph: ``python evaluate.py GRAPH.json``.

The Rego side of ``bench_rego.py``, run as its own process: reads the graph JSON
that ``mlpolicy graph --format json`` wrote, trusts the key ids of its principals
named in ``--team`` (default: all), evaluates ``data.mlpolicy.scale.violations``
with the Rego interpreter of the ``regopy`` package and prints them as JSON
(``{control: [subject, ...]}``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from regopy import Interpreter

HERE = Path(__file__).resolve().parent


def main() -> None:
    text = Path(sys.argv[1]).read_text()
    graph = json.loads(text)
    team = sorted(n["keyid"] for n in graph["nodes"] if n["kind"] == "principal")
    rego = Interpreter()
    rego.add_module("scale", (HERE / "scale.rego").read_text())
    rego.add_data_json(json.dumps({"team": team}))
    rego.set_input_term(text)
    output = rego.query("x := data.mlpolicy.scale.violations")
    if not output.ok():
        sys.exit(f"rego: the query failed: {output}")
    bindings = json.loads(output.binding("x").json())
    print(json.dumps({control: sorted(subjects) for control, subjects in bindings.items()}))


if __name__ == "__main__":
    main()
