"""A pytest plugin (``-p tests.fuzz.tally``): at the end of a fuzz run, per target, the
inputs checked and the slowest input's times, summed over pytest-xdist workers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fuzz.fuzzing import TALLIES, Tally

_KEY = "mlpolicy_fuzz_tallies"
_MERGED: dict[str, Tally] = {}


def _encode(tallies: dict[str, Tally]) -> str:
    return json.dumps({name: [t.inputs, t.cpu, t.wall] for name, t in tallies.items()})


def _merge(encoded: str) -> None:
    for name, (inputs, cpu, wall) in json.loads(encoded).items():
        _MERGED.setdefault(name, Tally()).add(inputs, cpu, wall)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its tallies to the controller; a lone process keeps its own."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[_KEY] = _encode(TALLIES)
    else:
        _merge(_encode(TALLIES))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: a worker finished; add what it counted."""
    encoded = getattr(node, "workeroutput", {}).get(_KEY)
    if encoded:
        _merge(encoded)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per target: inputs checked, the slowest input's CPU time and wall time."""
    if not _MERGED:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz targets")
    write(f"{'target':<12} {'inputs':>10} {'slowest CPU':>14} {'slowest wall':>14}")
    for name, tally in sorted(_MERGED.items()):
        cpu, wall = f"{tally.cpu * 1000:.1f} ms", f"{tally.wall * 1000:.1f} ms"
        write(f"{name:<12} {tally.inputs:>10,} {cpu:>14} {wall:>14}")
