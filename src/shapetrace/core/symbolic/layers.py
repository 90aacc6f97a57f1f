"""One torch.nn layer applied to a symbolic shape, with the core's rules as the only source.

For each layer the core answers at concrete probe sizes (``core.api.compute``): the sizes
that do not vary (channels, features) come from its answer, and its own checks give, by
bisection, the smallest input each varying axis may have (every per-axis rule here
accepts an input at least as large as one it accepts). A varying axis is mapped by the
step of the layer's per-dimension formula (core/formulas.py); each step is checked
against the core's answer at a few sizes before it is used, so that a step that does
not match the rule is never used silently (the layer is then reported as not modelled).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable, Sequence

from ..api import compute
from ..errors import ShapeError
from ..formulas import pool_out
from ..layers import REGISTRY
from .constraints import Constraint, Kind
from .expr import Call1, Dim, Lin

BIG = 1024  # a size every per-axis rule accepts (kernels and paddings are smaller)
LIMIT = 1 << 20


class Unmodelled(Exception):
    """The op cannot be written as the core's formulas; the caller probes instead."""

    def __init__(self, row: str, what: str):
        super().__init__(f"{row}: {what}")
        self.row = row
        self.what = what


Shape = tuple[Dim, ...]


def concrete(shape: Shape, big: int = BIG, at: dict[int, int] | None = None) -> tuple[int, ...]:
    """A concrete shape for the core: constants as they are, varying sizes ``big``."""
    out = []
    for i, d in enumerate(shape):
        if at is not None and i in at:
            out.append(at[i])
        elif d.is_const:
            if d.coef.denominator != 1:
                raise Unmodelled("", f"size {d.coef} is not a whole number")
            out.append(int(d.coef))
        else:
            out.append(big)
    return tuple(out)


def _spatial_count(layer: str, rank: int) -> int:
    if layer.startswith(("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d")):
        return rank - 2
    for n in (1, 2, 3):
        if layer.endswith(f"{n}d"):
            return n
    return 0


def _tup(v: Any, n: int) -> tuple:
    if isinstance(v, (list, tuple)):
        return tuple(v) if len(v) == n else tuple(v) * n if len(v) == 1 else tuple(v)
    return (v,) * n


def _step(family: str, layer: str, kw: dict[str, Any], n: int, i: int, core_at: Callable[[int], int]):
    """The per-axis step of spatial axis i (of n), from the layer's arguments."""
    if family == "padding":
        return Lin(1, core_at(BIG) - BIG, 1)
    if family == "adaptive":
        out = _tup(kw["output_size"], n)[i]
        return None if out is None else ("const", int(out))
    if family == "upsample":
        if kw.get("size") is not None:
            return ("const", int(_tup(kw["size"], n)[i]))
        scale = float(_tup(kw["scale_factor"], n)[i])
        if scale == int(scale):
            return Lin(int(scale), 0, 1)
        # static_cast<int64_t>(in * scale): truncation of a double (UpSample.h)
        return Call1(lambda x, s=scale: math.trunc(x * s), "⌊{x}·" + f"{scale:g}⌋", ("up", scale))
    k = _tup(kw["kernel_size"], n)[i]
    stride = kw.get("stride")
    s = k if stride is None or stride == () else _tup(stride, n)[i]
    d = _tup(kw.get("dilation", 1), n)[i]
    if layer.startswith("ConvTranspose"):
        p = _tup(kw["padding"], n)[i]
        op = _tup(kw.get("output_padding", 0), n)[i]
        # (in - 1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1
        return Lin(s, -s - 2 * p + d * (k - 1) + op + 1, 1)
    pad = kw.get("padding", 0)
    if pad == "same":
        total = d * (k - 1)
    elif pad == "valid":
        total = 0
    else:
        total = 2 * _tup(pad, n)[i]
    a = total - d * (k - 1) - 1  # numerator offset: in + pad_total - dilation*(k-1) - 1
    if family == "pool" and kw.get("ceil_mode"):
        p = total // 2
        lin = Lin(1, a + 2 * s - 1, s)  # ceil(num/s) + 1 without the last-window rule
        if all(lin(x) == pool_out(x, p, k, s, d, True) for x in range(1, 4 * (s + k + p) + 2)):
            return lin  # the last-window rule never applies to these arguments
        return Call1(lambda x: pool_out(x, p, k, s, d, True),
                     f"⌈({{x}} {'+' if a >= 0 else '−'} {abs(a)})/{s}⌉ + 1 (last window inside)",
                     ("ceilpool", p, k, s, d))
    return Lin(1, a + s, s)  # floor((in + a)/stride) + 1


def apply(layer: str, kwargs: dict[str, Any], shape: Shape, row: str,
          constraints: list[Constraint]) -> Shape:
    """The symbolic output of ``torch.nn.<layer>(**kwargs)`` on ``shape``; constraints are
    appended to ``constraints``. Raises ``Unmodelled`` or the core's ``ShapeError``."""
    if all(d.is_const for d in shape):
        return tuple(Dim.const(v) for v in compute(layer, concrete(shape), **kwargs).output_shape)
    try:
        return _apply(layer, kwargs, shape, row, constraints)
    except ShapeError as e:
        # the core refused one of the sizes we asked it about, not necessarily one the model
        # meets (PixelUnshuffle(2) refuses the odd probe size 1025): the caller probes
        raise Unmodelled(row, f"{layer}: {e}") from None


def _apply(layer: str, kwargs: dict[str, Any], shape: Shape, row: str, constraints: list[Constraint]) -> Shape:
    defn = REGISTRY[layer]
    fam = defn.family
    rank = len(shape)
    if fam == "linear" and layer == "Linear":
        return _linear(layer, kwargs, shape, row, constraints)
    if layer == "Flatten":
        return _flatten(kwargs, shape, row)
    if layer in ("LayerNorm", "RMSNorm"):
        return _layernorm(layer, kwargs, shape, row, constraints)
    if layer == "Embedding":
        r = _core(layer, kwargs, concrete(shape), row)
        return shape + (Dim.const(r.output_shape[-1]),)
    n = _spatial_count(layer, rank) if fam in ("conv", "pool", "adaptive", "upsample", "padding") else 0
    base = concrete(shape)
    res = _core(layer, kwargs, base, row)
    kw = dict(res.kwargs)
    out_c = res.output_shape
    if len(out_c) != rank:
        raise Unmodelled(row, f"{layer} changes the rank with a varying size in its input")
    out_b = _core(layer, kwargs, concrete(shape, BIG + 1), row).output_shape
    out: list[Dim] = []
    for j, d in enumerate(shape):
        spatial = n and j >= rank - n
        if d.is_const:
            if out_b[j] != out_c[j]:
                raise Unmodelled(row, f"{layer}: dimension {j} depends on a varying size")
            out.append(Dim.const(out_c[j]))
            continue
        ch = d.single
        if ch is None:
            raise Unmodelled(row, f"{layer} on a product of varying sizes ({j})")
        core_at = _axis_probe(layer, kwargs, base, j, row)
        if spatial:
            step = _step(fam, layer, kw, n, j - (rank - n), core_at)
        else:
            step = Lin(1, 0, 1) if all(core_at(x) == x for x in (BIG, BIG + 1, BIG + 7)) else "bad"
        if step == "bad":
            raise Unmodelled(row, f"{layer} changes dimension {j}")
        # the smallest size this input can have (at input size 1, as every map is monotone):
        # an earlier crop (negative padding) can make it 0, which the next layer may refuse
        low = min(1, ch(1))
        guess = step.least if isinstance(step, Lin) else None  # where the formula first gives 1
        least = _least_valid(layer, kwargs, base, j, row, low, guess)
        if least > low:
            cons_out = None
            if isinstance(step, (Lin, Call1)) and step(least) >= 1 and step(least - 1) < 1:
                cons_out = d.map(step)
            constraints.append(Constraint(row, Kind.AT_LEAST, d, bound=least, out=cons_out))
        if step is None:  # adaptive None: keep the size
            out.append(d)
        elif isinstance(step, tuple):
            out.append(Dim.const(step[1]))
        else:
            _check_step(step, core_at, least, row, layer)
            out.append(d.map(step))
    return tuple(out)


def _core(layer, kwargs, shape, row):
    return compute(layer, shape, **kwargs)


def _axis_probe(layer, kwargs, base, j, row) -> Callable[[int], int]:
    def at(x: int) -> int:
        s = list(base)
        s[j] = x
        return compute(layer, tuple(s), **kwargs).output_shape[j]
    return at


def _ok(layer, kwargs, base, j, x) -> bool:
    s = list(base)
    s[j] = x
    try:
        compute(layer, tuple(s), **kwargs)
        return True
    except ShapeError:
        return False


def _least_valid(layer, kwargs, base, j, row, low: int = 1, guess: int | None = None) -> int:
    """The smallest size >= low the core accepts on dimension j (the others large). A guess
    (where the layer's formula first gives 1) is taken when the core confirms it: it accepts
    the guess and refuses the size below (acceptance grows with the size); else bisection."""
    if _ok(layer, kwargs, base, j, low):
        return low
    if guess is not None and low < guess <= BIG and _ok(layer, kwargs, base, j, guess) \
            and not _ok(layer, kwargs, base, j, guess - 1):
        return guess
    lo, hi = low, BIG  # fails at lo, works at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _ok(layer, kwargs, base, j, mid):
            hi = mid
        else:
            lo = mid
    return hi


def _check_step(step, core_at, least, row, layer) -> None:
    for x in {least, least + 1, least + 5, BIG, BIG + 3}:
        if step(x) != core_at(x):
            raise Unmodelled(row, f"{layer}: the per-axis formula does not match the core at {x}")


def _linear(layer, kwargs, shape, row, constraints) -> Shape:
    last = shape[-1]
    fin = kwargs.get("in_features")
    probe = concrete(shape[:-1]) + ((fin if fin is not None else 1) if not last.is_const else last.value,)
    r = _core(layer, kwargs, probe, row)
    if not last.is_const and fin is not None:
        constraints.append(Constraint(row, Kind.EQUAL, last, Dim.const(fin)))
    return shape[:-1] + (Dim.const(r.output_shape[-1]),)


def _layernorm(layer, kwargs, shape, row, constraints) -> Shape:
    ns = kwargs.get("normalized_shape")
    ns = (ns,) if isinstance(ns, int) else tuple(ns)
    at = {}
    for i, v in enumerate(ns):
        j = len(shape) - len(ns) + i
        if j < 0:
            break
        if not shape[j].is_const:
            constraints.append(Constraint(row, Kind.EQUAL, shape[j], Dim.const(v)))
            at[j] = v
    _core(layer, kwargs, concrete(shape, at=at), row)
    return shape


def _flatten(kwargs, shape: Shape, row: str) -> Shape:
    rank = len(shape)
    start = kwargs.get("start_dim", 1)
    end = kwargs.get("end_dim", -1)
    _core("Flatten", kwargs, tuple(1 for _ in shape), row)  # the core checks the dims
    start %= max(rank, 1)
    end %= max(rank, 1)
    return flatten_dims(shape, start, end)


def flatten_dims(shape: Sequence[Dim], start: int, end: int) -> Shape:
    merged = Dim.const(1)
    for d in shape[start:end + 1]:
        merged = merged * d
    return tuple(shape[:start]) + (merged,) + tuple(shape[end + 1:])


def frac(n: int) -> Fraction:
    return Fraction(n)
