"""ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad 1d/2d/3d.

Shape: each padded dimension grows by ``pad_left + pad_right``
(https://pytorch.org/docs/stable/generated/torch.nn.ReflectionPad2d.html).
Checks follow ``torch.nn.functional.pad`` and aten/src/ATen/native/PadNd.cpp,
ReflectionPad.cpp, ReplicationPadding.cpp. ``pad_shape`` is shared with the
convolutions' ``padding_mode``.

Torch's own rules, which are not obvious from the docs:
- a padding tuple may be shorter than the class suggests: ``ReflectionPad2d((1, 1))``
  pads only the last dimension, and the non-constant modes then take the input rank
  from the tuple's length (2 values: 2D/3D input, 4 values: 3D/4D, 6 values: 4D/5D);
- constant padding may be negative (it crops), but each side's crop must fit;
- reflection needs every pad (either side) smaller than the input size;
- negative reflect/replicate padding may empty one padded dimension but not all of them
  (aten checks ``output_w >= 1 || output_h >= 1``);
- circular padding may wrap at most once, and some negative paddings make torch's
  in-place copy overlap itself (emulated in ``_circular_dim``).
"""

from __future__ import annotations

import math
from enum import Enum

from ..records import Category, DimFormula, RFOp, note
from .base import REQUIRED, Call, axes, axis_word, fmt_shape, is_int, register


class PadMode(str, Enum):
    CONSTANT = "constant"
    REFLECT = "reflect"
    REPLICATE = "replicate"
    CIRCULAR = "circular"


def pad_shape(c: Call, mode: PadMode, shape: tuple[int, ...], pads: tuple[int, ...],
              argument: str = "padding") -> tuple[int, ...]:
    """The shape ``F.pad(x, pads, mode)`` gives, or ``c.fail`` where torch raises.

    ``pads`` is in F.pad's order: (last_left, last_right, second_last_left, ...).
    """
    if len(pads) % 2:
        c.fail(f"needs an even number of padding values (left and right per dimension), got "
               f"{len(pads)}: {tuple(pads)}", argument=argument)
    k = len(pads) // 2
    ndim = len(shape)
    if mode is PadMode.CONSTANT:
        if k > ndim:
            c.fail(f"{len(pads)} padding values pad {k} dimensions, but the input "
                   f"{fmt_shape(shape)} has only {ndim}", argument=argument)
    elif k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        want = (f"a {k + 1}D (unbatched) or {k + 2}D (batched) input" if k in (1, 2, 3)
                else "2, 4 or 6 values")
        c.fail(f"{mode.value} padding with {len(pads)} values needs {want}, got {ndim}D input "
               f"{fmt_shape(shape)}", argument=argument if k not in (1, 2, 3) else "input")
    out = list(shape)
    spatial = shape[ndim - k:]
    names = axes(k)
    if mode in (PadMode.REFLECT, PadMode.REPLICATE):
        # "possibly 0 batch size and other non-zero dimensions"
        checked = shape[1:] if ndim == k + 2 else shape
        if any(d == 0 for d in checked):
            c.fail(f"{mode.value} padding needs a non-empty input apart from the batch, got "
                   f"{fmt_shape(shape)}", argument="input")
    for i in range(k):
        lo, hi = pads[2 * (k - 1 - i)], pads[2 * (k - 1 - i) + 1]
        size, ax = spatial[i], names[i]
        o = size + lo + hi
        word = axis_word(ax)
        if mode is PadMode.CONSTANT:
            # Negative pads crop one side at a time (aten constant_pad_nd: narrow()).
            left = size + min(lo, 0)
            if left < 0 or left + min(hi, 0) < 0 or o < 0:
                c.fail(f"negative padding ({lo}, {hi}) crops more than the input {word} {size}",
                       argument=argument, fix=f"crop at most {size} in total")
        elif mode is PadMode.REFLECT:
            if lo >= size or hi >= size:
                c.fail(f"reflect padding ({lo}, {hi}) must be smaller than the input {word} {size} "
                       f"on each side", argument=argument, fix=f"padding <= {size - 1}")
        if mode in (PadMode.REFLECT, PadMode.REPLICATE) and o < 0:
            c.fail(f"padding ({lo}, {hi}) leaves an output {word} of {o} from input {word} {size}",
                   argument=argument)
        out[ndim - k + i] = o
    if mode in (PadMode.REFLECT, PadMode.REPLICATE) and k and all(o < 1 for o in out[ndim - k:]):
        # aten checks "output_w >= 1 || output_h >= 1": one empty padded dim is allowed.
        c.fail(f"padding {tuple(pads)} leaves an empty output {fmt_shape(out[ndim - k:])} from the input "
               f"{fmt_shape(spatial)}", argument=argument)
    if mode is PadMode.CIRCULAR:
        _circular(c, shape, pads, tuple(out), argument)
    return tuple(out)


def _slice(size: int, start: int, end: int) -> tuple[int, int]:
    """aten's slice(): negative ends count from the back, then both are clamped."""
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = min(max(start, 0), size)
    end = min(max(end, 0), size)
    return start, max(end, start)


def _copy_ok(dst: tuple[int, int], src: tuple[int, int], check_overlap: bool) -> bool:
    """copy_(): sizes equal or the source broadcasts from 1; and a copy within one
    tensor must not partly overlap itself (checked only where the slices are dense)."""
    ld, ls = dst[1] - dst[0], src[1] - src[0]
    if ls != ld and ls != 1:
        return False
    if (check_overlap and ld > 0 and ls > 0 and dst != src
            and max(dst[0], src[0]) < min(dst[1], src[1])):
        return False
    return True


def _circular(c: Call, shape, pads, out, argument) -> None:
    """aten _pad_circular_symint: copy the input into the middle, then copy the
    wrapped-around strips from the output itself, dimension by dimension."""
    k = len(pads) // 2
    ndim = len(shape)
    lead = list(shape[:ndim - k]) if ndim == k + 2 else [1] + list(shape[:ndim - k])
    spatial = shape[ndim - k:]
    outs = out[ndim - k:]
    names = axes(k)
    for i in range(k):
        lo, hi = pads[2 * (k - 1 - i)], pads[2 * (k - 1 - i) + 1]
        if lo > spatial[i] or hi > spatial[i]:
            c.fail(f"circular padding ({lo}, {hi}) wraps around more than once: the input "
                   f"{axis_word(names[i])} is {spatial[i]}", argument=argument,
                   fix=f"padding <= {spatial[i]}")
        if outs[i] < 0:
            c.fail(f"negative circular padding ({lo}, {hi}) leaves a negative {axis_word(names[i])} "
                   f"{outs[i]}", argument=argument)
    for i in range(k):
        lo, hi = pads[2 * (k - 1 - i)], pads[2 * (k - 1 - i) + 1]
        s, o = spatial[i], outs[i]
        if not _copy_ok(_slice(o, max(lo, 0), o - max(hi, 0)), _slice(s, max(-lo, 0), s - max(-hi, 0)),
                        False):
            c.fail(f"torch cannot apply negative circular padding ({lo}, {hi}) to an input "
                   f"{axis_word(names[i])} of {s}", argument=argument)
    if 0 in lead or 0 in outs:
        return
    for i in range(k):
        lo, hi = pads[2 * (k - 1 - i)], pads[2 * (k - 1 - i) + 1]
        o = outs[i]
        # A slice along this dim is dense (so torch checks overlap) only when every
        # dimension before it has size 1.
        dense = math.prod(lead + list(outs[:i])) == 1
        bad = ((lo > 0 and not _copy_ok(_slice(o, 0, lo), _slice(o, o - lo - max(hi, 0), o - max(hi, 0)),
                                        dense))
               or (hi > 0 and not _copy_ok(_slice(o, o - hi, o), _slice(o, max(lo, 0), max(lo, 0) + hi),
                                           dense)))
        if bad:
            c.fail(f"circular padding ({lo}, {hi}) with a negative side makes torch copy a strip of the "
                   f"output onto itself ({axis_word(names[i])} {spatial[i]} -> {o}); torch refuses "
                   f"this overlapping copy", argument=argument)


def _pads(c: Call, n: int) -> tuple[int, ...]:
    v = c.args["padding"]
    if is_int(v):
        return (int(v),) * (2 * n)
    if isinstance(v, (list, tuple)) and all(is_int(x) for x in v):
        return tuple(int(x) for x in v)
    c.bad_arg("padding", f"must be an integer or a tuple of {2 * n} integers, got {v!r}")


def _padder(n: int, mode: PadMode, class_rank_check: bool):
    def rule(c: Call):
        if "value" in c.args:
            c.float_arg("value")
        pads = _pads(c, n)
        shape = c.input
        if class_rank_check:  # CircularPadNd checks the rank from its class before F.pad does
            c.batched_rank(n, shape)
        out = pad_shape(c, mode, shape, pads)
        k = len(pads) // 2
        formulas, notes = [], []
        ndim = len(shape)
        names = axes(k)
        lows = []
        for i in range(k):
            lo, hi = pads[2 * (k - 1 - i)], pads[2 * (k - 1 - i) + 1]
            lows.append(lo)
            ax = names[i]
            formulas.append(DimFormula(ax, f"{ax}_in + pad_left + pad_right",
                                       f"{shape[ndim - k + i]} + {lo} + {hi}", out[ndim - k + i]))
            if lo < 0 or hi < 0:
                notes.append(note("pad_crops", axis=ax, left=lo, right=hi))
        rf = RFOp((1,) * k, (1,) * k, tuple(lows), (1,) * k) if k else None
        return c.result(out, formulas=formulas, notes=notes, rf=rf)

    return rule


for _n in (1, 2, 3):
    for _short, _sig, _mode, _rank_check in (
            ("ZeroPad", [("padding", REQUIRED)], PadMode.CONSTANT, False),
            ("ConstantPad", [("padding", REQUIRED), ("value", REQUIRED)], PadMode.CONSTANT, False),
            ("ReflectionPad", [("padding", REQUIRED)], PadMode.REFLECT, False),
            ("ReplicationPad", [("padding", REQUIRED)], PadMode.REPLICATE, False),
            ("CircularPad", [("padding", REQUIRED)], PadMode.CIRCULAR, True)):
        # F.pad does all five: its op rows are described in core/kinds.py, not by one rule.
        register(f"{_short}{_n}d", _sig, family="padding", category=Category.PAD, short=_short,
                 notes=("pad_crops",))(_padder(_n, _mode, _rank_check))
