"""Hypothesis settings for the core's property tests.

The profile "shapetrace-core" makes every run deterministic (``derandomize``: the
examples follow from the test's name, so CI and a laptop see the same ones) and
drops the per-example deadline (torch's first call in a process is slow). The
oracle tests take it as their parent settings with their own ``max_examples``
(see ``oracle.run_cases``; ``SHAPETRACE_EXAMPLES_SCALE=10`` multiplies them for a
longer local run).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "shapetrace-core",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
