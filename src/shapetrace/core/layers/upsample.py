"""Upsample, UpsamplingNearest2d and UpsamplingBilinear2d.

Shape: ``out = floor(in * scale_factor)`` per spatial dimension, or ``size``
(https://pytorch.org/docs/stable/generated/torch.nn.Upsample.html). The rules
follow ``torch.nn.functional.interpolate`` and aten/src/ATen/native/UpSample.h.

Torch's rules worth knowing:
- the input is (N, C, *spatial) with 1-3 spatial dims; there is no unbatched form,
  and the mode fixes the rank: linear 3D, bilinear/bicubic 4D, trilinear 5D;
  nearest, nearest-exact and area take any of 3D/4D/5D (so UpsamplingNearest2d also
  upsamples 3D and 5D inputs);
- ``scale_factor=0`` (any false value) is dropped by the constructor, which then
  complains that neither size nor scale_factor is given;
- ``mode='area'`` is adaptive average pooling: its output may be empty (size 0) and
  empty channels are allowed for 3D/4D inputs; every other mode needs a non-empty
  input apart from the batch and an output of at least 1;
- ``align_corners`` may only be given for the interpolating modes.
"""

from __future__ import annotations

import math
from enum import Enum

from ..records import Category, DimFormula, RFMode
from .adaptive import AdaptiveKind, adaptive_shape, adaptive_window
from .base import Call, axes, axis_word, fmt_shape, is_int, prod, register


class Mode(str, Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    AREA = "area"
    LINEAR = "linear"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    TRILINEAR = "trilinear"
    LANCZOS = "lanczos"


# Input rank each mode takes (torch.nn.functional.interpolate's dispatch).
_RANKS = {Mode.NEAREST: (3, 4, 5), Mode.NEAREST_EXACT: (3, 4, 5), Mode.AREA: (3, 4, 5),
          Mode.LINEAR: (3,), Mode.BILINEAR: (4,), Mode.BICUBIC: (4,), Mode.TRILINEAR: (5,)}
_NO_ALIGN = (Mode.NEAREST, Mode.AREA, Mode.NEAREST_EXACT)
# Interpolation taps per output element and spatial dimension (MACs = taps**ndim per element).
_TAPS = {Mode.LINEAR: 2, Mode.BILINEAR: 2, Mode.TRILINEAR: 2, Mode.BICUBIC: 4}


def _scale(c: Call):
    """What Upsample.__init__ stores: a tuple of floats, a float, or None for any false value."""
    v = c.args["scale_factor"]
    if isinstance(v, tuple):
        if not all(isinstance(x, (int, float)) for x in v):
            c.bad_arg("scale_factor", f"must hold numbers, got {v!r}")
        if not all(math.isfinite(x) for x in v):
            c.bad_arg("scale_factor", f"must be finite, got {v!r} (torch cannot size the output)")
        return tuple(float(x) for x in v)
    if isinstance(v, float) and not math.isfinite(v):
        # torch: "value cannot be converted to type int64_t without overflow" (inf and nan)
        c.bad_arg("scale_factor", f"must be finite, got {v!r} (torch cannot size the output)")
    if not v:
        return None
    if not isinstance(v, (int, float)):
        c.bad_arg("scale_factor", f"must be a number or a tuple of numbers, got {v!r}")
    return float(v)


def _upsample(c: Call, mode_arg, align_corners, recompute):
    try:
        mode = Mode(mode_arg)
    except ValueError:
        c.fail(f"mode must be one of {', '.join(repr(m.value) for m in Mode if m is not Mode.LANCZOS)}, "
               f"got {mode_arg!r}", argument="mode")
    if align_corners is not None and not isinstance(align_corners, bool):
        c.bad_arg("align_corners", f"must be true, false or None, got {align_corners!r}")
    if recompute is not None and not isinstance(recompute, bool):
        c.bad_arg("recompute_scale_factor", f"must be true, false or None, got {recompute!r}")
    if mode in _NO_ALIGN and align_corners is not None:
        c.fail(f"align_corners can only be set with the interpolating modes (linear, bilinear, bicubic, "
               f"trilinear), not mode={mode.value!r}", argument="align_corners", fix="align_corners=None")
    size = c.args["size"]
    scale = _scale(c)
    shape = c.input
    n = len(shape) - 2
    if size is not None and scale is not None:
        c.fail("give only one of size and scale_factor", argument="size")
    if size is None and scale is None:
        c.fail("give size or scale_factor (a scale_factor of 0 counts as not given)",
               argument="scale_factor")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != n:
                c.fail(f"size has {len(size)} values but the input {fmt_shape(shape)} has {max(n, 0)} "
                       f"spatial dimensions (it is (N, C, *spatial))", argument="size")
            if not all(is_int(v) for v in size):
                c.bad_arg("size", f"must hold integers, got {size!r}")
            out = tuple(int(v) for v in size)
        elif is_int(size):
            out = (int(size),) * max(n, 0)
        else:
            c.bad_arg("size", f"must be an integer or a tuple of integers, got {size!r}")
        scales = None
    else:
        if isinstance(scale, tuple):
            if len(scale) != n:
                c.fail(f"scale_factor has {len(scale)} values but the input {fmt_shape(shape)} has "
                       f"{max(n, 0)} spatial dimensions (it is (N, C, *spatial))", argument="scale_factor")
            scales = scale
        else:
            scales = (scale,) * max(n, 0)
        out = None
    if recompute and size is not None:
        c.fail("recompute_scale_factor=True has no meaning with an explicit size", argument="recompute_scale_factor")
    if mode is Mode.LANCZOS:
        c.fail("mode='lanczos' needs antialias=True, which nn.Upsample cannot pass", argument="mode",
               fix="mode='bicubic'")
    ranks = _RANKS[mode]
    if len(shape) not in ranks:
        want = " or ".join(f"{r}D" for r in ranks)
        c.fail(f"mode={mode.value!r} needs a {want} input (N, C, *spatial), got {len(shape)}D input "
               f"{fmt_shape(shape)}", argument="input")
    spatial = shape[2:]
    names = axes(n)
    if out is None:
        # static_cast<int64_t>(in * scale) in C++ (and math.trunc when recomputed): truncation.
        scaled = [spatial[i] * scales[i] for i in range(n)]
        for i, x in enumerate(scaled):
            if not math.isfinite(x) or abs(x) >= 2.0**63:  # torch: "cannot be converted to int64_t"
                c.fail(f"{axis_word(names[i])} {spatial[i]} * scale_factor {scales[i]:g} is beyond the int64 "
                       f"range of a size", argument="scale_factor", fix="a smaller scale_factor")
        out = tuple(math.trunc(x) for x in scaled)
    formulas = []
    for i, ax in enumerate(names):
        if scales is None:
            formulas.append(DimFormula(ax, "size", f"{out[i]}", out[i]))
        else:
            formulas.append(DimFormula(ax, f"floor({ax}_in * scale_factor)", f"floor({spatial[i]} * {scales[i]:g})",
                                       out[i]))
    if mode is Mode.AREA:
        lead, _, out = adaptive_shape(c, n, AdaptiveKind.AVG, out, argument="scale_factor" if scales else "size")
        _, notes, taps, _, _ = adaptive_window(spatial, out, names)
        return c.result(tuple(lead) + tuple(out), macs=prod(lead) * taps, formulas=formulas, notes=notes,
                        rf_mode=RFMode.UNKNOWN)
    if any(d == 0 for d in shape[1:]):
        c.fail(f"input {fmt_shape(shape)} has an empty dimension; only the batch may be empty",
               argument="input")
    for i, ax in enumerate(names):
        if out[i] < 1:
            arg = "size" if scales is None else "scale_factor"
            c.fail(f"output {axis_word(ax)} {out[i]} is below 1 (input {axis_word(ax)} {spatial[i]}"
                   + (f", scale_factor {scales[i]:g}" if scales else "") + ")", argument=arg)
    out_shape = shape[:2] + tuple(out)
    macs = prod(out_shape) * _TAPS[mode] ** n if mode in _TAPS else 0
    return c.result(out_shape, macs=macs, formulas=formulas, rf_mode=RFMode.UNKNOWN)


@register("Upsample", [("size", None), ("scale_factor", None), ("mode", "nearest"), ("align_corners", None),
                       ("recompute_scale_factor", None)], family="upsample", category=Category.UPSAMPLE,
          functional=("interpolate", "upsample"), notes=("adaptive_uneven",))  # mode='area' is adaptive pooling
def upsample(c: Call):
    return _upsample(c, c.args["mode"], c.args["align_corners"], c.args["recompute_scale_factor"])


@register("UpsamplingNearest2d", [("size", None), ("scale_factor", None)], family="upsample",
          category=Category.UPSAMPLE, functional=("upsample_nearest",))
def upsampling_nearest2d(c: Call):
    return _upsample(c, "nearest", None, None)


@register("UpsamplingBilinear2d", [("size", None), ("scale_factor", None)], family="upsample",
          category=Category.UPSAMPLE, functional=("upsample_bilinear",))
def upsampling_bilinear2d(c: Call):
    return _upsample(c, "bilinear", True, None)
