"""Flatten, Unflatten, PixelShuffle, PixelUnshuffle, ChannelShuffle, Fold and Unfold
against real torch (valid and invalid)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, int_or_tuple, maybe_batch, pick, run_cases, sizes


@st.composite
def any_shape(draw, max_rank=5, hi=4):
    rank = draw(st.integers(0, max_rank))
    return sizes(draw, rank, 1, hi)


@st.composite
def flatten_cases(draw):
    shape = draw(any_shape())
    dims = range(-5, 5)
    kw = {}
    if draw(st.integers(0, 3)):
        kw["start_dim"] = draw(st.sampled_from(dims))
    if draw(st.integers(0, 3)):
        kw["end_dim"] = draw(st.sampled_from(dims))
    return "Flatten", shape, kw


@st.composite
def unflatten_cases(draw):
    shape = draw(any_shape(4, 6))
    dim = draw(st.sampled_from(range(-4, 4)))
    size = shape[dim] if shape and -len(shape) <= dim < len(shape) else 6
    parts = []
    for f in (2, 3, 1):
        if size % f == 0 and draw(st.booleans()):
            parts.append(f)
            size //= f
    parts.append(size)
    form = draw(st.integers(0, 9))
    if form < 2 and parts:
        parts[draw(st.integers(0, len(parts) - 1))] = -1
    elif form == 2:
        parts.append(pick(draw, (2, -1, -2, 0)))
    elif form == 3:
        parts = []
    parts = tuple(parts) if draw(st.booleans()) else list(parts)
    return "Unflatten", shape, {"dim": dim, "unflattened_size": parts}


@st.composite
def pixel_cases(draw):
    shuffle = draw(st.booleans())
    r = pick(draw, (1, 2, 3), (0, -1))
    h, w = sizes(draw, 2, 1, 4)
    if shuffle:
        ch = pick(draw, (max(r, 1) ** 2, 2 * max(r, 1) ** 2), (3, 0))
        layer, kw = "PixelShuffle", {"upscale_factor": r}
    else:
        ch = pick(draw, (1, 2), (0,))
        if draw(st.integers(0, 3)):
            h, w = h * max(r, 1), w * max(r, 1)
        layer, kw = "PixelUnshuffle", {"downscale_factor": r}
    shape = (ch, h, w)
    for _ in range(draw(st.integers(0, 2))):
        shape = (pick(draw, (1, 2), (0,)),) + shape
    if draw(st.integers(0, 14)) == 0:
        shape = shape[-2:]
    return layer, shape, kw


@st.composite
def channel_shuffle_cases(draw):
    g = pick(draw, (1, 2, 3), (0, -1))
    ch = pick(draw, (max(g, 1), 2 * max(g, 1)), (5, 0))
    rank = draw(st.integers(1, 5))
    shape = (pick(draw, (1, 2), (0,)), ch) + sizes(draw, max(rank - 2, 0), 1, 3)
    return "ChannelShuffle", shape[:rank] if rank < 2 else shape, {"groups": g}


def _block_kwargs(draw):
    kw = {"kernel_size": int_or_tuple(draw, 2, (1, 2, 3), (0,), one=False)}
    if draw(st.booleans()):
        kw["dilation"] = int_or_tuple(draw, 2, (1, 2), (0,), one=False)
    if draw(st.booleans()):
        kw["padding"] = int_or_tuple(draw, 2, (0, 1), (-1, 3), one=False)
    if draw(st.booleans()):
        kw["stride"] = int_or_tuple(draw, 2, (1, 2), (0,), one=False)
    return kw


@st.composite
def unfold_cases(draw):
    kw = _block_kwargs(draw)
    shape = maybe_batch(draw, (pick(draw, (1, 2), (0,), common_weight=19),) + sizes(draw, 2, 1, 6))
    if draw(st.integers(0, 14)) == 0:
        shape = (1,) + shape if len(shape) == 4 else shape[1:]
    return "Unfold", shape, kw


def _blocks(size, k, d, p, s):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@st.composite
def fold_cases(draw):
    kw = _block_kwargs(draw)
    osize = int_or_tuple(draw, 2, (2, 3, 4, 5), (0, -4, 1), one=False)
    kw = {"output_size": osize, **kw}

    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)

    try:
        k, d, p, s, o = (pair(kw.get(name, default)) for name, default in
                         (("kernel_size", 1), ("dilation", 1), ("padding", 0), ("stride", 1), ("output_size", 1)))
        blocks = _blocks(o[0], k[0], d[0], p[0], s[0]) * _blocks(o[1], k[1], d[1], p[1], s[1])
        kk = k[0] * k[1]
    except (ValueError, ZeroDivisionError, IndexError):
        blocks, kk = 4, 4
    ch = pick(draw, (1, 2), (0,), common_weight=19)
    length = pick(draw, (blocks,), (blocks + 1, 0), common_weight=6)
    ckk = pick(draw, (ch * kk,), (ch * kk + 1,), common_weight=12)
    shape = maybe_batch(draw, (max(ckk, 0), max(length, 0)))
    if draw(st.integers(0, 14)) == 0:
        shape = (1,) + shape
    return "Fold", shape, kw


def test_flatten_matches_torch():
    assert_mixed(run_cases(flatten_cases(), 600), min_share=0.15, blamed={"start_dim", "end_dim"})


def test_unflatten_matches_torch():
    assert_mixed(run_cases(unflatten_cases(), 600), min_share=0.15, blamed={"dim", "unflattened_size", "input"})


def test_pixel_shuffle_matches_torch():
    assert_mixed(run_cases(pixel_cases(), 600), min_share=0.15,
                 blamed={"upscale_factor", "downscale_factor", "input"})


def test_channel_shuffle_matches_torch():
    assert_mixed(run_cases(channel_shuffle_cases(), 300), min_share=0.15, blamed={"groups", "input"})


def test_unfold_matches_torch():
    assert_mixed(run_cases(unfold_cases(), 600), min_share=0.15,
                 blamed={"kernel_size", "dilation", "padding", "stride", "input"})


def test_fold_matches_torch():
    assert_mixed(run_cases(fold_cases(), 700), min_share=0.15,
                 blamed={"output_size", "kernel_size", "dilation", "padding", "stride", "input"})
