"""MaxPool, AvgPool and LPPool 1d/2d/3d against real torch (valid and invalid)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, int_or_tuple, maybe_batch, pick, run_cases, sizes


@st.composite
def pool_cases(draw):
    n = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(["Max", "Max", "Avg", "Avg", "LP"]))
    layer = f"{kind}Pool{n}d"
    spatial = sizes(draw, n, 1, 8 if n < 3 else 5)
    shape = maybe_batch(draw, (pick(draw, (1, 2), (0,), common_weight=19),) + spatial)
    if draw(st.integers(0, 19)) == 0:  # a wrong rank
        shape = shape[1:] if len(shape) > 1 and draw(st.booleans()) else (1,) + shape
    kw = {}
    if kind == "LP":
        kw["norm_type"] = pick(draw, (1, 2, 3.0), (0, -1, float("inf")))
    kw["kernel_size"] = int_or_tuple(draw, n, (1, 2, 3), (0, 4, -1))
    if draw(st.booleans()):
        kw["stride"] = pick(draw, (None,), (0,)) if draw(st.integers(0, 3)) == 0 else \
            int_or_tuple(draw, n, (1, 2, 3), (0, -1))
    if kind != "LP" and draw(st.booleans()):
        kw["padding"] = int_or_tuple(draw, n, (0, 1), (2, -1))
    if kind == "Max" and draw(st.booleans()):
        kw["dilation"] = int_or_tuple(draw, n, (1, 2), (0, 3))
    if kind == "Max" and draw(st.integers(0, 3)) == 0:
        kw["return_indices"] = True
    if draw(st.integers(0, 2)) == 0:
        kw["ceil_mode"] = True
    if kind == "Avg" and draw(st.integers(0, 3)) == 0:
        kw["count_include_pad"] = False
    if kind == "Avg" and n > 1 and draw(st.integers(0, 4)) == 0:
        kw["divisor_override"] = pick(draw, (1, 3, -2), (0,))
    return layer, shape, kw


def test_pool_family_matches_torch():
    tally = run_cases(pool_cases(), 2500)
    assert_mixed(tally, min_share=0.2,
                 blamed={"kernel_size", "stride", "padding", "dilation", "norm_type", "divisor_override", "input"})
