"""The `mlpolicy` command. Thin: parse options, call the API, pick a reporter, return a status.

One module per verb; each imports heavy libraries only inside its function, so
``mlpolicy --help`` and ``validate`` never load DVC or in-toto.

Exit status: 0 no violation at or above ``--fail-on``; 1 violations; 2 usage
error, invalid policy, or any input the engine could not judge.
"""

from __future__ import annotations

from policy_engine.cli.main import main, run

__all__ = ["main", "run"]
