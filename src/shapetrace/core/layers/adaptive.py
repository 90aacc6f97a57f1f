"""AdaptiveAvgPool1d/2d/3d and AdaptiveMaxPool1d/2d/3d.

The output size is given; bin ``i`` of ``out`` over an input of ``in`` spans
``[floor(i*in/out), ceil((i+1)*in/out))`` (aten/src/ATen/native/AdaptiveAveragePooling.cpp),
so bins differ in size unless ``out`` divides ``in``.
https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html

Torch's rules worth knowing:
- ``None`` in a 2d/3d ``output_size`` keeps that input size; a bare ``None`` is an error,
  and AdaptiveXPool1d takes no ``None`` at all;
- an output size of 0 is allowed (the output is empty), a negative one is not;
- the first dimension may be empty; AdaptiveAvgPool1d/2d also allow empty channels;
  every other dimension must be non-empty, except that AdaptiveAvgPool with every output
  size 1 is a plain mean and takes empty inputs too (giving NaN); for AdaptiveAvgPool2d/3d
  that mean also takes any rank >= 2/3 (so AdaptiveAvgPool2d(1) maps a 2-D (3, 5) to (1, 1)).
"""

from __future__ import annotations

from enum import Enum

from ..formulas import adaptive_bin_stats
from ..records import Category, DimFormula, RFMode, RFOp, note
from .base import REQUIRED, Call, axes, fmt_shape, is_int, prod, register, show


class AdaptiveKind(str, Enum):
    AVG = "avg"
    MAX = "max"


def parse_output_size(c: Call, n: int, name: str = "output_size") -> tuple[int | None, ...]:
    v = c.args[name]
    if is_int(v):
        return (int(v),) * n
    if isinstance(v, (list, tuple)) and all(x is None or is_int(x) for x in v):
        if n == 1 and None in v:
            c.bad_arg(name, f"cannot be None for a 1d adaptive pool, got {v!r}")
        if len(v) != n:
            c.bad_arg(name, f"must be an integer or {n} values, got {len(v)} values {tuple(v)}")
        return tuple(None if x is None else int(x) for x in v)
    if v is None:
        c.bad_arg(name, "must be an integer or a tuple (None only inside the tuple, to keep an input size)")
    c.bad_arg(name, f"must be an integer or a tuple of {n} integers/None, got {v!r}")


def adaptive_shape(c: Call, n: int, kind: AdaptiveKind, requested: tuple[int | None, ...],
                   argument: str = "output_size"):
    """Check the input and return (leading dims, spatial in, spatial out)."""
    shape = c.input
    # AdaptiveAvgPool2d/3d with output_size 1 everywhere (given as 1, not None) is a plain
    # mean over the last n dims, which takes any rank >= n and empty inputs.
    if (kind is AdaptiveKind.AVG and n > 1 and all(r == 1 for r in requested)
            and len(shape) >= n):
        return shape[:-n], shape[-n:], (1,) * n
    c.batched_rank(n, shape)
    spatial = shape[-n:]
    out = tuple(spatial[i] if r is None else r for i, r in enumerate(requested))
    if any(o < 0 for o in out):
        c.fail(f"{argument} must be non-negative, got {show(out)}", argument=argument)
    mean_path = kind is AdaptiveKind.AVG and all(o == 1 for o in out)
    if not mean_path:
        if kind is AdaptiveKind.AVG and n < 3:
            checked, what = spatial, "spatial dimension"
        else:
            checked, what = shape[1:], "dimension after the first"
        if any(d == 0 for d in checked):
            c.fail(f"input {fmt_shape(shape)} has an empty {what}", argument="input")
    return shape[:-n], spatial, out


def adaptive_window(spatial, out, names, requested=None):
    """Formulas, notes, RF (a window where every ``out`` divides its ``in``) and the
    number of input elements all bins read together (per leading position)."""
    formulas, notes, taps = [], [], 1
    even = True
    for i, ax in enumerate(names):
        size, o = spatial[i], out[i]
        if requested is not None and requested[i] is None:
            formulas.append(DimFormula(ax, f"{ax}_in (output_size None)", f"{size}", o))
        else:
            formulas.append(DimFormula(ax, "output_size", f"{o}", o))
        if o == 0:
            even = False
            taps = 0
            continue
        shortest, longest, total = adaptive_bin_stats(size, o)
        taps *= total
        if size % o:
            even = False
            span = f"{shortest}" if shortest == longest else f"{shortest}-{longest}"
            notes.append(note("adaptive_uneven", axis=ax, size=size, out=o, span=span))
    if even:
        k = tuple(spatial[i] // out[i] for i in range(len(names)))
        return formulas, notes, taps, RFOp(k, k, (0,) * len(k), (1,) * len(k)), RFMode.WINDOW
    return formulas, notes, taps, None, RFMode.UNKNOWN


def _adaptive(n: int, kind: AdaptiveKind):
    def rule(c: Call):
        requested = parse_output_size(c, n)
        if kind is AdaptiveKind.MAX:
            c.bool_arg("return_indices")
        lead, spatial, out = adaptive_shape(c, n, kind, requested)
        formulas, notes, taps, rf, mode = adaptive_window(spatial, out, axes(n), requested)
        if all(o == 1 for o in out):
            mode, rf = RFMode.GLOBAL, None
        macs = prod(lead) * taps if kind is AdaptiveKind.AVG else 0
        return c.result(tuple(lead) + tuple(out), macs=macs, formulas=formulas, notes=notes, rf=rf,
                        rf_mode=mode)

    return rule


for _n in (1, 2, 3):
    register(f"AdaptiveAvgPool{_n}d", [("output_size", REQUIRED)], family="adaptive",
             category=Category.POOL, short="AdaptiveAvgPool", functional=(f"adaptive_avg_pool{_n}d",),
             notes=("adaptive_uneven",))(_adaptive(_n, AdaptiveKind.AVG))
    register(f"AdaptiveMaxPool{_n}d", [("output_size", REQUIRED), ("return_indices", False)],
             family="adaptive", category=Category.POOL, short="AdaptiveMaxPool",
             functional=(f"adaptive_max_pool{_n}d",), notes=("adaptive_uneven",))(
        _adaptive(_n, AdaptiveKind.MAX))
