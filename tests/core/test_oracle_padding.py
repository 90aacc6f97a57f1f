"""ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad 1d/2d/3d against
real torch (valid and invalid, negative paddings included)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, pick, run_cases, sizes


@st.composite
def padding_cases(draw):
    n = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(["Zero", "Constant", "Reflection", "Reflection", "Replication", "Circular",
                                 "Circular"]))
    layer = f"{kind}Pad{n}d"
    rank = n + draw(st.sampled_from([1, 2, 2])) if draw(st.integers(0, 9)) else draw(st.integers(0, 5))
    lead = tuple(pick(draw, (1, 2), (0,), common_weight=12) for _ in range(max(rank - n, 0)))
    shape = (lead + sizes(draw, n, 1, 4))[-rank:] if rank else ()
    values = (0, 1, 2, 3)
    rare = (-1, -2, -4, 5)
    form = draw(st.integers(0, 9))
    if form < 3:
        padding = pick(draw, values, rare)
    elif form < 9:
        padding = tuple(pick(draw, values, rare, rare_weight=3) for _ in range(2 * n))
    else:
        padding = tuple(pick(draw, values) for _ in range(pick(draw, (2, 4, 3, 0))))
    kw = {"padding": padding}
    if kind == "Constant":
        kw["value"] = pick(draw, (0.0, 1.5, -2))
    return layer, shape, kw


def test_padding_family_matches_torch():
    tally = run_cases(padding_cases(), 2500)
    assert_mixed(tally, min_share=0.2, blamed={"padding", "input"})
