"""Fuzz targets' settings: a short run in the suite, a long one with ``make fuzz``.

``MLPOLICY_FUZZ_EXAMPLES`` sets how many inputs each loader's target tries (300 by
default), ``MLPOLICY_FUZZ_POLICY_EXAMPLES`` how many the policy target tries (the
same by default). A long run splits each target into shards of at most
:data:`SHARD_EXAMPLES` inputs, one test each, so that ``pytest -n`` spreads a target
over every core. Every input a target checks is counted and timed in :data:`TALLIES`
(``tests/fuzz/tally.py`` prints them at the end of a run).
"""

from __future__ import annotations

import functools
import gc
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from hypothesis import HealthCheck, settings

from policy_engine.errors import InputError
from policy_engine.graph.collector import paused_gc

EXAMPLES = int(os.environ.get("MLPOLICY_FUZZ_EXAMPLES", "300"))
POLICY_EXAMPLES = int(os.environ.get("MLPOLICY_FUZZ_POLICY_EXAMPLES", str(EXAMPLES)))
SHORT = 300  # the suite's run: reproducible, one shard
SHARD_EXAMPLES = int(os.environ.get("MLPOLICY_FUZZ_SHARD_EXAMPLES", "10000"))
MAX_SECONDS = 1.0  # no input may take a second of CPU time
MAX_MESSAGE = 1000  # an error message longer than this echoes the input at length


def fuzz_settings(total: int) -> settings:
    """Hypothesis settings for one shard of a target that tries ``total`` inputs in all."""
    return settings(
        max_examples=math.ceil(total / len(shards(total))),
        deadline=None,  # CPU time, not wall time, is bounded: see `counted`
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        derandomize=total <= SHORT,  # the suite's short run is reproducible
    )


def shards(total: int) -> list[int]:
    """The shard numbers of a target trying ``total`` inputs (each shard draws its own)."""
    return list(range(max(1, math.ceil(total / SHARD_EXAMPLES))))


@dataclass
class Tally:
    """How many inputs a target checked, and the slowest one's CPU and wall seconds."""

    inputs: int = 0
    cpu: float = 0.0
    wall: float = 0.0

    def add(self, inputs: int, cpu: float, wall: float) -> None:
        self.inputs += inputs
        self.cpu = max(self.cpu, cpu)
        self.wall = max(self.wall, wall)


TALLIES: dict[str, Tally] = {}

P = ParamSpec("P")
R = TypeVar("R")


def counted(target: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Count and time every call of a target's check function under ``target``; a call
    taking more than :data:`MAX_SECONDS` of CPU time fails.

    CPU time, because wall time on a shared machine says more about the neighbours
    than about the input (the slowest wall time is reported too). A process's first
    input imports the libraries the target needs: it is counted, not timed. The
    cyclic garbage collector is paused during the call: a collection walks the whole
    heap of the fuzzing process (its generator's data too), which is not the input's cost.
    """

    def decorate(check: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(check)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with paused_gc():
                cpu, wall = time.process_time(), time.perf_counter()
                result = check(*args, **kwargs)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if target not in TALLIES:
                cpu = wall = 0.0
            TALLIES.setdefault(target, Tally()).add(1, cpu, wall)
            assert cpu <= MAX_SECONDS, f"the input took {cpu:.2f} s of CPU time"
            return result

        return timed

    return decorate


def check_input_error(error: InputError) -> None:
    """What the contract wants of an InputError: a message, and no echo at length."""
    assert error.message, "an InputError without a message"
    shown = str(error)
    assert len(shown) <= MAX_MESSAGE, f"a message of {len(shown)} characters: {shown[:200]}"


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Inside, the objects alive on entry are left out of garbage collections (restored
    on exit): a builder that collects per input then walks only what it made."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
