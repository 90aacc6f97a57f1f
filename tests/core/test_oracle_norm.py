"""BatchNorm/InstanceNorm 1d/2d/3d, LayerNorm, GroupNorm, RMSNorm and LocalResponseNorm
against real torch (valid and invalid; torch in training mode, as freshly built)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, pick, run_cases, sizes


@st.composite
def batch_instance_cases(draw):
    n = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(["BatchNorm", "InstanceNorm"]))
    layer = f"{kind}{n}d"
    ch = pick(draw, (1, 2, 3), (0,), common_weight=12)
    rank = (n + 2 if draw(st.integers(0, 3)) else n + 1) if draw(st.integers(0, 9)) else draw(st.integers(1, 6))
    shape = (pick(draw, (1, 2), (0,), common_weight=12), ch) + sizes(draw, max(rank - 2, 0), 1, 3)
    shape = shape[-rank:] if rank >= 2 else shape[1:2]
    kw = {}
    if draw(st.integers(0, 4)):
        kw["num_features"] = pick(draw, (ch,), (ch + 1, 0), common_weight=6)
    if draw(st.integers(0, 3)) == 0:
        kw["affine"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        kw["track_running_stats"] = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        kw["eps"] = pick(draw, (1e-3,), (0.0, -1.0))
    if draw(st.integers(0, 9)) == 0:
        kw["momentum"] = pick(draw, (None, 0.5))
    if draw(st.integers(0, 6)) == 0:
        kw["bias"] = False
    return layer, shape, kw


@st.composite
def layer_rms_cases(draw):
    layer = draw(st.sampled_from(["LayerNorm", "RMSNorm"]))
    shape = sizes(draw, draw(st.integers(0, 4)), 1, 4)
    k = draw(st.integers(1, max(len(shape), 1)))
    ns = list(shape[-k:]) if shape else [3]
    form = draw(st.integers(0, 9))
    if form == 0 and ns:
        ns[0] += 1
    elif form == 1:
        ns = []
    elif form == 2:
        ns = [-1]
    ns = ns[0] if len(ns) == 1 and draw(st.booleans()) else (tuple(ns) if draw(st.booleans()) else ns)
    kw = {"normalized_shape": ns}
    if draw(st.integers(0, 3)) == 0:
        kw["elementwise_affine"] = False
    if layer == "LayerNorm" and draw(st.integers(0, 3)) == 0:
        kw["bias"] = False
    if draw(st.integers(0, 5)) == 0:
        kw["eps"] = pick(draw, (1e-6, 0.0))
    return layer, shape, kw


@st.composite
def group_norm_cases(draw):
    g = pick(draw, (1, 2, 3), (0, -1, -2))
    ch = pick(draw, (abs(g) or 1, 2 * (abs(g) or 1)), (0, 3, 5))
    rank = draw(st.integers(2, 4)) if draw(st.integers(0, 9)) else draw(st.integers(0, 1))
    shape = ((pick(draw, (1, 2), (0,), common_weight=12), ch) + sizes(draw, max(rank - 2, 0), 1, 3))[:rank]
    kw = {"num_groups": g}
    if draw(st.integers(0, 4)):
        kw["num_channels"] = pick(draw, (ch,), (ch + 1, -ch or -2), common_weight=6)
    if draw(st.integers(0, 3)) == 0:
        kw["affine"] = False
    if draw(st.integers(0, 5)) == 0:
        kw["bias"] = False
    return "GroupNorm", shape, kw


@st.composite
def lrn_cases(draw):
    shape = sizes(draw, draw(st.integers(1, 5)), 1, 3)
    return "LocalResponseNorm", shape, {"size": pick(draw, (1, 2, 5), (0, -1))}


def test_batch_and_instance_norm_match_torch():
    assert_mixed(run_cases(batch_instance_cases(), 1500), min_share=0.15,
                 blamed={"num_features", "input", "eps"})


def test_layer_and_rms_norm_match_torch():
    assert_mixed(run_cases(layer_rms_cases(), 600), min_share=0.15, blamed={"normalized_shape"})


def test_group_norm_matches_torch():
    assert_mixed(run_cases(group_norm_cases(), 600), min_share=0.15,
                 blamed={"num_groups", "num_channels", "input"})


def test_local_response_norm_matches_torch():
    assert_mixed(run_cases(lrn_cases(), 200), min_share=0.1, blamed={"size", "input"})
