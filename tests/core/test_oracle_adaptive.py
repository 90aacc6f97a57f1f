"""AdaptiveAvgPool and AdaptiveMaxPool 1d/2d/3d against real torch (valid and invalid)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, maybe_batch, pick, run_cases, sizes


@st.composite
def adaptive_cases(draw):
    n = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(["Avg", "Max"]))
    layer = f"Adaptive{kind}Pool{n}d"
    spatial = sizes(draw, n, 1, 9 if n < 3 else 5)
    shape = maybe_batch(draw, (pick(draw, (1, 2), (0,), common_weight=12),) + spatial)
    if draw(st.integers(0, 14)) == 0:
        shape = shape[1:] if len(shape) > 1 and draw(st.booleans()) else (1,) + shape
    entries = (1, 2, 3, 4, 5)
    rare = (0, -1, None, 10)
    form = draw(st.sampled_from(["int", "tuple", "tuple", "bad"]))
    if form == "int":
        size = pick(draw, entries, (0, -1, 10))
    elif form == "tuple":
        size = tuple(pick(draw, entries, rare, rare_weight=2) for _ in range(n))
    else:
        size = pick(draw, (None, (3,) * (n + 1)), ((2,) if n > 1 else (2, 2),))
    kw = {"output_size": size}
    if kind == "Max" and draw(st.integers(0, 3)) == 0:
        kw["return_indices"] = True
    return layer, shape, kw


def test_adaptive_family_matches_torch():
    tally = run_cases(adaptive_cases(), 1500)
    assert_mixed(tally, min_share=0.15, blamed={"output_size", "input"})
