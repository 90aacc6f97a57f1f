"""Upsample, UpsamplingNearest2d and UpsamplingBilinear2d against real torch."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, pick, run_cases, sizes

MODES = ("nearest", "nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


@st.composite
def upsample_cases(draw):
    layer = pick(draw, ("Upsample",) * 4, ("UpsamplingNearest2d", "UpsamplingBilinear2d"), rare_weight=2,
                 common_weight=6)
    mode = draw(st.sampled_from(MODES)) if layer == "Upsample" else None
    ndim = RANK.get(mode) or (4 if layer == "UpsamplingBilinear2d" else draw(st.sampled_from([3, 4, 5])))
    if draw(st.integers(0, 14)) == 0:
        ndim = draw(st.sampled_from([2, 3, 4, 5, 6]))
    n = max(ndim - 2, 0)
    shape = ((pick(draw, (1, 2), (0,), common_weight=12), pick(draw, (1, 2), (0,), common_weight=12))
             + sizes(draw, n, 1, 5))[:ndim]
    kw = {}
    if mode is not None:
        kw["mode"] = mode if draw(st.integers(0, 29)) else pick(draw, ("bogus", "lanczos"))
    which = draw(st.integers(0, 19))
    scales = (2, 3, 0.5, 1.5, 0.4, 2.5, 1)
    if which < 9:
        if draw(st.booleans()):
            kw["scale_factor"] = pick(draw, scales, (0, -1, 0.1))
        else:
            kw["scale_factor"] = tuple(pick(draw, scales, (0, 0.1)) for _ in range(
                n if draw(st.integers(0, 9)) else n + 1))
    elif which < 18:
        if draw(st.booleans()):
            kw["size"] = pick(draw, (1, 2, 4, 7), (0, -1))
        else:
            kw["size"] = tuple(pick(draw, (1, 3, 6), (0,)) for _ in range(n if draw(st.integers(0, 9)) else n + 1))
    elif which == 18:
        kw["size"], kw["scale_factor"] = 2, 2
    if mode is not None and draw(st.integers(0, 4)) == 0:
        kw["align_corners"] = draw(st.booleans())
    if mode is not None and draw(st.integers(0, 5)) == 0:
        kw["recompute_scale_factor"] = draw(st.booleans())
    return layer, shape, kw


def test_upsample_family_matches_torch():
    tally = run_cases(upsample_cases(), 2000)
    assert_mixed(tally, min_share=0.2,
                 blamed={"size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "input"})
