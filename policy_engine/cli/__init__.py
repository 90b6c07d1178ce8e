"""The `mlpolicy` command. Thin: parse options, call the API, pick a reporter, return a status.

One module per verb; each imports heavy libraries only inside its function, so
``mlpolicy --help`` and ``validate`` never load DVC or in-toto.

Exit status: 0 no violation at or above ``--fail-on``; 1 violations; 2 usage
error, invalid policy, or any input the engine could not judge.
"""

from __future__ import annotations

from policy_engine.cli.attest import attest
from policy_engine.cli.check import check
from policy_engine.cli.diff import diff
from policy_engine.cli.fmt import fmt
from policy_engine.cli.graph import graph
from policy_engine.cli.keygen import keygen
from policy_engine.cli.main import main
from policy_engine.cli.test import test_command
from policy_engine.cli.validate import validate

for command in (attest, check, diff, fmt, graph, keygen, test_command, validate):
    main.add_command(command)

__all__ = ["main"]
