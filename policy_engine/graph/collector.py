"""The cyclic garbage collector around a large build: paused, or kept off what is built.

A provenance graph of 100,000 artifacts is millions of long-lived objects. Each
full collection walks every one of them, and one is due whenever the objects
made since the last grow by a quarter; young collections walk each new object
again before it settles: building a large graph with the collector running costs
more than building it. A build runs with the collector paused: the cyclic
garbage it leaves (DVC's resolver makes some per stage) is small beside the graph
(about 3% of the peak memory of a 10,000-stage check, measured by
``benchmarks/bench_scale.py``), and is freed by the collections after the build.
Templated pipelines leave more (DVC's resolver makes contexts per ``foreach``,
``matrix`` and params interpolation): a 2,000-stage templated load
(``benchmarks/bench_dvc_load.py``) takes 1.6 s paused against 1.2 s with young
collections, while the 10,000-stage check takes 14.4 s paused against 15.3 s
(and 17.4 s with young collections every 20,000 allocations): paused wins where
the build is largest.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (restored after, as it was).

    For work that allocates much and frees little cyclic garbage (adding facts
    to the graph, evaluation), over a large graph that each collection would
    walk again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def kept_built() -> Iterator[None]:
    """Inside, :func:`keep` moves what exists out of the collector's sight (``gc.freeze``);
    on leaving, it is collected as usual again (``gc.unfreeze``), unless the caller had
    frozen objects itself."""
    frozen = gc.get_freeze_count()
    try:
        yield
    finally:
        if not frozen:
            gc.unfreeze()


def keep() -> None:
    """What exists now stays alive: later collections walk only newer objects."""
    gc.freeze()
