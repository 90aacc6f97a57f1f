"""Dropout, Dropout1d/2d/3d, AlphaDropout and FeatureAlphaDropout against real torch."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, pick, run_cases, sizes

LAYERS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")


@st.composite
def dropout_cases(draw):
    layer = draw(st.sampled_from(LAYERS))
    shape = sizes(draw, draw(st.integers(0, 6)), 1, 3)
    kw = {}
    if draw(st.booleans()):
        kw["p"] = pick(draw, (0.0, 0.5, 1.0, 1), (1.5, -0.1))
    if draw(st.integers(0, 3)) == 0:
        kw["inplace"] = True
    return layer, shape, kw


def test_dropout_family_matches_torch():
    assert_mixed(run_cases(dropout_cases(), 1000), min_share=0.1, blamed={"p", "input"})
