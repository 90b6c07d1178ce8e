"""Fuzz targets' settings: a short run in the suite, a long one with ``make fuzz``.

``MLPOLICY_FUZZ_EXAMPLES`` sets how many inputs each target tries (300 by default).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("MLPOLICY_FUZZ_EXAMPLES", "300"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=1000,  # no input may take a second
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=EXAMPLES <= 300,  # the suite's short run is reproducible
)
