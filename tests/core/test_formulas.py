"""Closed forms in core/formulas.py against the plain definitions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetrace.core.formulas import adaptive_bin_stats, adaptive_bins, floor_sum


@settings(max_examples=500, deadline=None, derandomize=True)
@given(n=st.integers(0, 60), m=st.integers(1, 60), a=st.integers(0, 200), b=st.integers(0, 200))
def test_floor_sum(n, m, a, b):
    assert floor_sum(n, m, a, b) == sum((a * i + b) // m for i in range(n))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(size=st.integers(0, 300), out=st.integers(1, 300))
def test_adaptive_bin_stats_match_the_bins(size, out):
    lens = [e - s for s, e in adaptive_bins(size, out)]
    assert adaptive_bin_stats(size, out) == (min(lens), max(lens), sum(lens))


@pytest.mark.timeout(60)
def test_huge_output_sizes_do_not_hang():
    import shapetrace

    # listing 2**31 bins took minutes; the closed form answers at once
    shape = shapetrace.output_shape("AdaptiveAvgPool1d", (1, 3, 7), output_size=2**31 - 1)
    assert shape == (1, 3, 2**31 - 1)
    assert shapetrace.compute("AdaptiveAvgPool1d", (1, 3, 7), output_size=2**31 - 1).macs >= 3 * (2**31 - 1)
