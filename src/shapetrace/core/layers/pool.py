"""MaxPool1d/2d/3d, AvgPool1d/2d/3d and LPPool1d/2d/3d.

Shape: https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html,
.../torch.nn.AvgPool2d.html and .../torch.nn.LPPool2d.html (the "Shape" sections);
the ceil_mode rule is aten/src/ATen/native/Pool.h (``pooling_output_shape_pad_lr``).
Checks follow aten/src/ATen/native/Pool.h (``pool2d_shape_check``), MaxPooling.cpp
(``max_pool1d``) and torch/nn/functional.py (``lp_pool1d/2d/3d``).

Torch's rules worth knowing:
- ``padding`` may be at most half the kernel size (``padding <= kernel_size // 2``),
  whatever the dilation;
- with ``ceil_mode=True`` a last, partial window is added when the stride leaves
  positions over, unless it would start inside the right padding; it may even hang
  past an unpadded input (``MaxPool1d(2, stride=3, ceil_mode=True)`` on length 1 gives 1);
- the input may have an empty batch, but no other empty dimension;
- ``stride=None`` (and an empty list) means ``stride = kernel_size``;
- AvgPool3d (and LPPool3d) also require the *unpadded* input to be at least the kernel
  size, unlike AvgPool1d/2d and MaxPool;
- LPPool is ``avg_pool(x ** p) * prod(kernel)) ** (1/p)`` without padding:
  ``norm_type=0`` divides by zero, ``norm_type=inf`` becomes max pooling, and
  LPPool1d takes only an integer kernel_size (its final ``mul(kernel_size)`` fails on a tuple).
"""

from __future__ import annotations

import math
from enum import Enum

from ..formulas import floor_remainder, pool_out
from ..records import Category, DimFormula, RFOp, note
from .base import REQUIRED, Call, axes, axis_word, fmt_shape, is_int, prod, register, show


class PoolKind(str, Enum):
    MAX = "max"
    AVG = "avg"
    LP = "lp"


def _max_signature():
    return [("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1),
            ("return_indices", False), ("ceil_mode", False)]


def _avg_signature(n: int):
    sig = [("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("ceil_mode", False),
           ("count_include_pad", True)]
    if n > 1:
        sig.append(("divisor_override", None))
    return sig


def _lp_signature():
    return [("norm_type", REQUIRED), ("kernel_size", REQUIRED), ("stride", None), ("ceil_mode", False)]


def check_pool_input(c: Call, n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Rank n+1 (unbatched) or n+2; only the batch may be empty. Returns (leading, spatial)."""
    shape = c.input
    c.batched_rank(n)
    checked = shape[1:] if len(shape) == n + 2 else shape
    if any(d == 0 for d in checked):
        c.fail(f"input {fmt_shape(shape)} has an empty dimension; pooling allows only an empty "
               f"batch", argument="input")
    return shape[:-n], shape[-n:]


def _windows(c: Call, n: int, kind: PoolKind):
    """kernel, stride, padding, dilation, checked as torch checks them."""
    if kind is PoolKind.LP:
        norm = c.float_arg("norm_type")
        if norm == 0:
            c.fail("norm_type=0 makes LPPool raise ZeroDivisionError (it takes the 1/norm_type power)",
                   argument="norm_type", fix="norm_type=2 (or any non-zero power)")
        if n == 1 and not is_int(c.args["kernel_size"]) and not math.isinf(norm):
            c.bad_arg("kernel_size", f"must be an integer for LPPool1d, got {c.args['kernel_size']!r}")
    # The 2d/3d pooling functions broadcast a 1-tuple; LPPool2d/3d unpack the kernel
    # into exactly n values first.
    k = c.tuple_arg("kernel_size", n, allow_one=(n > 1 and kind is not PoolKind.LP))
    s = c.opt_tuple_arg("stride", n, k, allow_one=n > 1)
    p = (0,) * n if kind is PoolKind.LP else c.tuple_arg("padding", n, allow_one=n > 1)
    d = c.tuple_arg("dilation", n, allow_one=n > 1) if kind is PoolKind.MAX else (1,) * n
    for name, vals in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if any(v <= 0 for v in vals):
            c.fail(f"{name} must be positive, got {show(vals)}", argument=name)
    if any(v < 0 for v in p):
        c.fail(f"padding must be non-negative, got {show(p)}", argument="padding")
    for i in range(n):
        if p[i] > k[i] // 2:
            c.fail(f"padding {p[i]} is more than half the kernel_size {k[i]} (at most {k[i] // 2} "
                   f"allowed)", argument="padding", fix=f"padding <= {k[i] // 2} or kernel_size >= {2 * p[i]}")
    return k, s, p, d


def _pool(n: int, kind: PoolKind):
    def rule(c: Call):
        k, s, p, d = _windows(c, n, kind)
        ceil = c.bool_arg("ceil_mode")
        if kind is PoolKind.MAX:
            c.bool_arg("return_indices")
        if kind is PoolKind.AVG:
            c.bool_arg("count_include_pad")
            if n > 1:
                div = c.int_arg("divisor_override", allow_none=True)
                if div == 0:
                    c.fail("divisor_override must not be 0", argument="divisor_override",
                           fix="divisor_override=None (divide by the window size)")
        lead, spatial = check_pool_input(c, n)
        names = axes(n)
        avg_kernel = kind is PoolKind.AVG or (kind is PoolKind.LP and not math.isinf(c.float_arg("norm_type")))
        if n == 3 and avg_kernel and any(spatial[i] < k[i] for i in range(3)):
            # avg_pool3d compares the unpadded input with the kernel (Pool.h, pool3d_shape_check).
            c.fail(f"input {fmt_shape(spatial)} is smaller than kernel_size {fmt_shape(k)}; avg_pool3d "
                   f"checks this before padding", argument="kernel_size",
                   fix="a kernel_size no larger than the input")
        out, formulas, notes = [], [], []
        rnd = "ceil" if ceil else "floor"
        for i, ax in enumerate(names):
            o = pool_out(spatial[i], p[i], k[i], s[i], d[i], ceil)
            # The docs' formula for each class: only MaxPool has a dilation, LPPool no padding.
            if kind is PoolKind.MAX:
                symbolic = f"{rnd}(({ax}_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1"
                worked = f"{rnd}(({spatial[i]} + 2*{p[i]} - {d[i]}*({k[i]}-1) - 1) / {s[i]}) + 1"
            elif kind is PoolKind.AVG:
                symbolic = f"{rnd}(({ax}_in + 2*padding - kernel_size) / stride) + 1"
                worked = f"{rnd}(({spatial[i]} + 2*{p[i]} - {k[i]}) / {s[i]}) + 1"
            else:
                symbolic = f"{rnd}(({ax}_in - kernel_size) / stride) + 1"
                worked = f"{rnd}(({spatial[i]} - {k[i]}) / {s[i]}) + 1"
            if o < 1:
                c.fail(f"output {axis_word(ax)} {o} is too small: {worked} = {o} (input {axis_word(ax)} "
                       f"{spatial[i]}, kernel_size {k[i]}" + (f", dilation {d[i]}" if d[i] > 1 else "")
                       + ")", argument="kernel_size",
                       fix="a smaller kernel_size, or padding up to kernel_size // 2")
            out.append(o)
            formulas.append(DimFormula(ax, symbolic, worked, o))
            if ceil:
                floor_o = pool_out(spatial[i], p[i], k[i], s[i], d[i], False)
                unclipped = -(-(spatial[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i]) + 1
                if o > floor_o:
                    notes.append(note("ceil_extra_window", axis=ax, start=(o - 1) * s[i] - p[i],
                                      size=spatial[i]))
                if unclipped > o:
                    notes.append(note("ceil_window_dropped", axis=ax))
            else:
                rem = floor_remainder(spatial[i], 2 * p[i], k[i], s[i], d[i])
                if rem:
                    notes.append(note("floor_drops", axis=ax, rows=rem, stride=s[i]))
        macs = 0 if kind is PoolKind.MAX else prod(lead) * prod(out) * prod(k)
        return c.result(tuple(lead) + tuple(out), macs=macs, formulas=formulas, notes=notes,
                        rf=RFOp(k, s, p, d))

    return rule


_NOTES = ("ceil_extra_window", "ceil_window_dropped", "floor_drops")
for _n in (1, 2, 3):
    for _kind, _sig, _fn in ((PoolKind.MAX, _max_signature(), "max_pool"),
                             (PoolKind.AVG, _avg_signature(_n), "avg_pool"), (PoolKind.LP, _lp_signature(), "lp_pool")):
        _short = {PoolKind.MAX: "MaxPool", PoolKind.AVG: "AvgPool", PoolKind.LP: "LPPool"}[_kind]
        register(f"{_short}{_n}d", _sig, family="pool", category=Category.POOL, short=_short,
                 functional=(f"{_fn}{_n}d",), notes=_NOTES)(_pool(_n, _kind))
