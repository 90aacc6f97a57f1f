"""Linear and Bilinear against real torch (valid and invalid)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, pick, run_cases


@st.composite
def lead_dims(draw):
    return tuple(pick(draw, (1, 2, 3), (0,), common_weight=12) for _ in range(draw(st.integers(0, 3))))


@st.composite
def linear_cases(draw):
    lead = draw(lead_dims())
    fin = pick(draw, (1, 3, 5), (0, -1))
    fout = pick(draw, (1, 2, 4), (0, -2))
    feat = pick(draw, (fin,), (fin + 1, 0), common_weight=6)
    shape = lead + (max(feat, 0),) if draw(st.integers(0, 19)) else ()
    kw = {"out_features": fout}
    if draw(st.integers(0, 4)):
        kw["in_features"] = fin
    if draw(st.integers(0, 3)) == 0:
        kw["bias"] = False
    return "Linear", shape, kw


@st.composite
def bilinear_cases(draw):
    lead = draw(lead_dims())
    in1 = pick(draw, (1, 2, 3), (0, -1))
    in2 = pick(draw, (1, 2, 4), (0, -1))
    fout = pick(draw, (1, 3), (0, -1))
    f1 = pick(draw, (in1,), (in1 + 1, 0), common_weight=6)
    f2 = pick(draw, (in2,), (in2 + 1, 0), common_weight=6)
    lead2 = lead
    odd = draw(st.integers(0, 9))
    if odd == 0 and lead:
        lead2 = lead[:-1] + (lead[-1] + 1,)  # a mismatched leading dim
    elif odd == 1:
        lead2 = lead + (2,)  # a different rank
    a = lead + (max(f1, 0),)
    b = lead2 + (max(f2, 0),)
    if draw(st.integers(0, 19)) == 0:
        a = ()
    kw = {"out_features": fout}
    if draw(st.integers(0, 4)):
        kw["in1_features"] = in1
    if draw(st.integers(0, 4)):
        kw["in2_features"] = in2
    if draw(st.integers(0, 3)) == 0:
        kw["bias"] = False
    return "Bilinear", [a, b], kw


def test_linear_matches_torch():
    tally = run_cases(linear_cases(), 800)
    assert_mixed(tally, min_share=0.2, blamed={"in_features", "out_features", "input"})


def test_bilinear_matches_torch():
    tally = run_cases(bilinear_cases(), 800)
    assert_mixed(tally, min_share=0.2,
                 blamed={"in1_features", "in2_features", "out_features", "input"})
