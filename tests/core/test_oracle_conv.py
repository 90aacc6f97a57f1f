"""Conv1d/2d/3d and ConvTranspose1d/2d/3d against real torch (valid and invalid)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, int_or_tuple, maybe_batch, pick, run_cases, sizes


@st.composite
def conv_cases(draw):
    n = draw(st.sampled_from([1, 2, 3]))
    transpose = draw(st.integers(0, 2)) == 0
    layer = f"ConvTranspose{n}d" if transpose else f"Conv{n}d"
    groups = pick(draw, (1, 1, 1, 2, 3), (0, -1), common_weight=19)
    g = max(groups, 1)
    cin = pick(draw, (g, 2 * g), (0, 3, -1), common_weight=19)
    cout = pick(draw, (g, 2 * g), (0, 4, -2), common_weight=19)
    channels = pick(draw, (cin,), (cin + 1, max(cin - 1, 0), 0), common_weight=19)
    spatial = sizes(draw, n, 1, 7 if n < 3 else 5)
    shape = maybe_batch(draw, (max(channels, 0),) + spatial)
    kw = {"out_channels": cout, "groups": groups}
    if draw(st.integers(0, 4)):
        kw["in_channels"] = cin
    elif channels != max(cin, 0):
        shape = shape[:-(n + 1)] + (max(cin, 0),) + spatial  # inferred: the input decides
    kw["kernel_size"] = int_or_tuple(draw, n, (1, 2, 3), (0, 5, -1), one=n > 1)
    if draw(st.booleans()):
        kw["stride"] = int_or_tuple(draw, n, (1, 1, 2, 3), (0, -1))
    if draw(st.booleans()):
        kw["dilation"] = int_or_tuple(draw, n, (1, 1, 2), (0, 3))
    pad = draw(st.integers(0, 9))
    if pad < 5:
        kw["padding"] = int_or_tuple(draw, n, (0, 1, 2), (-1, 3))
    elif pad < 7:
        kw["padding"] = pick(draw, ("same", "valid"), ("full",))
    if transpose and draw(st.booleans()):
        kw["output_padding"] = int_or_tuple(draw, n, (0, 1), (2, -1))
    if draw(st.integers(0, 2)) == 0:
        kw["padding_mode"] = (pick(draw, ("zeros",), ("reflect", "constant")) if transpose else
                              pick(draw, ("zeros", "reflect", "replicate", "circular"), ("constant",)))
    if draw(st.integers(0, 3)) == 0:
        kw["bias"] = False
    return layer, shape, kw


def test_conv_family_matches_torch():
    tally = run_cases(conv_cases(), 2500)
    assert_mixed(tally, min_share=0.2,
                 blamed={"in_channels", "out_channels", "groups", "kernel_size", "stride", "padding",
                         "dilation", "output_padding", "padding_mode", "input"})
