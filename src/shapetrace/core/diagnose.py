"""Why a forward failed, in numbers, and how to fix it.

The tracer hands over a ``Failure`` (plain shapes and ints, no tensors): which row
failed, what kind of call it was (``FailOp``), the input shapes and the layer's
numbers. ``diagnose`` turns it into a ``Diagnosis``: the message, the expected and
the actual shape, the arithmetic that explains both (``1152 = 128 x 3 x 3``,
``6272 = 128 x 7 x 7``), and the fixes (``nn.Linear(1152, 512)``,
``x.flatten(1)``). ``batch_changed`` is the warning for a ``view``/``reshape``
with -1 that silently changed the batch size (the seed at batch 49).

This module does not import torch: it works on records only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Sequence

from .shapes import fmt_shape, mismatched_dims, padded
from .records import Diagnosis, Row, Shape, Warning_


class FailOp(str, Enum):
    """What kind of call failed; picks the diagnosis rule."""

    VIEW = "view"  # view / reshape
    LINEAR = "linear"  # nn.Linear, F.linear, matmul against a weight
    CONV = "conv"  # nn.ConvNd, F.convNd
    ADD = "add"  # elementwise combination of two tensors (+, *, ...)
    CAT = "cat"  # torch.cat / stack
    OTHER = "other"


@dataclass
class Failure:
    row: Row  # the failing row: input shapes known, no outputs
    op: FailOp
    message: str  # one line: the core's message, else torch's first line
    info: dict[str, Any] = field(default_factory=dict)  # the rule's numbers (request, in_features ...)
    argument: str | None = None
    fix: str | None = None  # the core's fix, when the core rejected the call


@dataclass
class Context:
    rows: list[Row]  # the rows before the failure, in execution order
    batch: int | None  # the input's batch size (dim 0), if it has one
    linears: list[tuple[str, int, int]] = field(default_factory=list)  # (name, in, out) of each nn.Linear


def x_join(dims: Sequence[int]) -> str:
    """(128, 3, 3) -> '128 x 3 x 3'."""
    return " x ".join(str(d) for d in dims)


def factor_like(n: int, dims: Sequence[int]) -> tuple[int, ...] | None:
    """Write ``n`` in the form of ``dims`` (C, *spatial) with the same channel count and a
    square (cubic) map: ``factor_like(6272, (128, 3, 3)) == (128, 7, 7)``. None if it isn't."""
    if len(dims) < 2 or dims[0] <= 0 or n % dims[0]:
        return None
    q, r = n // dims[0], len(dims) - 1
    side = round(q ** (1 / r))
    for s in (side - 1, side, side + 1):
        if s > 0 and s ** r == q:
            return (dims[0],) + (s,) * r
    return None


def _per_sample(shape: Shape, batch: int | None) -> Shape:
    return tuple(shape[1:]) if batch is not None and len(shape) >= 2 else tuple(shape)


def _matches(r: Row, spatial: Shape) -> bool:
    n = len(spatial)
    return bool(r.output_shapes) and len(r.output_shapes[0]) >= n + 1 and \
        tuple(r.output_shapes[0][-n:]) == tuple(spatial)


def _last_row_with_map(rows: list[Row], spatial: Shape) -> int | None:
    """Index of the last row whose output ends in this spatial map (e.g. ..., 7, 7), lifted to
    its outermost ancestor with the same output map (``resblock2``, not ``resblock2.relu``)."""
    idx = next((i for i in range(len(rows) - 1, -1, -1) if _matches(rows[i], spatial)), None)
    if idx is None:
        return None
    depth = rows[idx].depth
    for j in range(idx - 1, -1, -1):
        if rows[j].depth < depth:
            if not _matches(rows[j], spatial):
                break
            idx, depth = j, rows[j].depth
    return idx


def _where_line(rows: list[Row], assumed: Shape, actual: Shape) -> list[str]:
    """'7 x 7 is the map after `resblock2`; `pool` then makes it 3 x 3'."""
    if len(assumed) < 2 or tuple(assumed[1:]) == tuple(actual[1:]):
        return []
    i = _last_row_with_map(rows, tuple(assumed[1:]))
    if i is None:
        return [f"the code assumes a {x_join(assumed[1:])} map; the map here is {x_join(actual[1:])}"]
    line = f"{x_join(assumed[1:])} is the map after `{rows[i].name}`"
    nxt = next((r for r in rows[i + 1:] if _matches(r, tuple(actual[1:]))), None)
    if nxt is not None:
        line += f"; `{nxt.name}` then makes it {x_join(actual[1:])}"
    return [line]


def _linear_fixes(ctx: Context, in_features: int, right: int, only: str | None = None) -> list[str]:
    fixes = []
    for name, fin, fout in ctx.linears:
        if fin == in_features and (only is None or name == only):
            fixes.append(assign(name, f"nn.Linear({right}, {fout})"))
            fixes.append(assign(name, f"nn.LazyLinear({fout})"))
    return fixes


def _flatten_origin(rows: list[Row], features: int, batch: int | None) -> Shape | None:
    """The per-sample shape that was flattened into ``features`` values, if a row did that."""
    for r in reversed(rows):
        if not r.input_shapes or not r.output_shapes:
            continue
        i, o = r.input_shapes[0], r.output_shapes[0]
        if o and o[-1] == features and len(i) > len(o):
            ps = _per_sample(i, batch)
            if math.prod(ps) == features:
                return ps
    return None


# --------------------------------------------------------------------------- rules


def _fits(numel: int, request: tuple[int, ...]) -> bool:
    """Whether ``numel`` values can take the shape ``request`` (at most one -1)."""
    known = math.prod(d for d in request if d != -1)
    if -1 in request:
        return known != 0 and numel % known == 0
    return numel == known


def _view(f: Failure, ctx: Context) -> Diagnosis:
    shape = f.row.input_shapes[0] if f.row.input_shapes else ()
    request = tuple(f.info.get("request") or ())
    numel = math.prod(shape)
    if request and request.count(-1) <= 1 and _fits(numel, request):
        # the values fit: torch refused for another reason (view() of a transposed tensor's strides)
        d = _generic(f, ctx)
        if f.row.kind == "view":
            args = ", ".join(str(x) for x in request)
            d.fixes.insert(0, f"x.reshape({args}) or x.contiguous().view({args}): view() needs strides "
                              f"that fit the new shape, which a transpose or permute breaks")
        return d
    known = [d for d in request if d != -1]
    target = math.prod(known) if known else 1
    call = f"{f.row.kind}({', '.join(str(d) for d in request)})"
    per = _per_sample(shape, ctx.batch)
    per_n = math.prod(per)
    arithmetic, fixes = [], []
    expected: Shape | None = None
    if request and request[0] == -1 and len(shape) >= 2:
        if per:
            arithmetic.append(f"{per_n} = {x_join(per)}: the values per sample of {fmt_shape(shape)}")
        assumed = factor_like(target, per)
        if assumed is not None and assumed != per:
            arithmetic.append(f"{target} = {x_join(assumed)}: what {call} assumes per sample")
            expected = (shape[0],) + assumed
            arithmetic += _where_line(ctx.rows, assumed, per)
        else:
            expected = (shape[0], target)
        arithmetic.append(f"{numel} = {shape[0]} x {per_n} is not a multiple of {target}")
        fixes.append(f"x.flatten(1) instead of x.{call}: it keeps the batch, giving "
                     f"{fmt_shape((shape[0], per_n))}")
        fixes += _linear_fixes(ctx, target, per_n)
    else:
        arithmetic.append(f"{numel} = {x_join(shape)} values cannot take the shape {fmt_shape(request)}")
    msg = (f"`{shown(f.row)}`: {call} cannot reshape {fmt_shape(shape)} ({numel} values) "
           f"into rows of {target}")
    return Diagnosis(row=f.row.name, kind=f.row.kind, message=msg, expected=expected, actual=shape,
                     arithmetic=arithmetic, fixes=fixes, argument="shape")


def _linear(f: Failure, ctx: Context) -> Diagnosis:
    shape = f.row.input_shapes[0] if f.row.input_shapes else ()
    fin, fout = f.info.get("in_features"), f.info.get("out_features")
    if not shape or fin is None:
        return _generic(f, ctx)
    got = shape[-1]
    if got == fin:
        return _generic(f, ctx)  # the features match: torch refused for another reason
    msg = (f"`{shown(f.row)}` ({f.row.kind}) expects {fin} input features (in_features={fin}) "
           f"but its input {fmt_shape(shape)} has {got}")
    arithmetic = []
    origin = _flatten_origin(ctx.rows, got, ctx.batch)
    if origin is not None and len(origin) > 1:
        arithmetic.append(f"{got} = {x_join(origin)}: the flattened {fmt_shape(origin)}")
        assumed = factor_like(fin, origin)
        if assumed is not None:
            arithmetic.append(f"{fin} = {x_join(assumed)}: what in_features assumes")
            arithmetic += _where_line(ctx.rows, assumed, origin)
    fixes = []
    if fout is not None and f.info.get("module"):
        fixes = [assign(f.row.name, f"nn.Linear({got}, {fout})"), assign(f.row.name, f"nn.LazyLinear({fout})")]
    elif fout is not None:
        fixes = [f"a weight of shape ({fout}, {got})"]
    return Diagnosis(row=f.row.name, kind=f.row.kind, message=msg,
                     expected=tuple(shape[:-1]) + (fin,), actual=shape, arithmetic=arithmetic,
                     fixes=fixes, argument="in_features")


def _conv(f: Failure, ctx: Context) -> Diagnosis:
    d = _generic(f, ctx)
    shape = f.row.input_shapes[0] if f.row.input_shapes else ()
    cin = f.info.get("in_channels")
    nd = f.info.get("ndim", 2)
    if cin is not None and len(shape) >= nd + 1:
        got = shape[-(nd + 1)]
        if got != cin:
            d.expected = tuple(shape[:-(nd + 1)]) + (cin,) + tuple(shape[-nd:])
            d.argument = "in_channels"
            producer = _producer(ctx.rows, shape)
            if producer is not None:
                d.arithmetic.append(f"{got} channels come from `{producer.name}` ({producer.kind}), "
                                    f"output {fmt_shape(producer.output_shapes[0])}")
            call = f.info.get("call")
            if call:
                d.fixes.insert(0, assign(f.row.name, f"nn.{call}"))
    if f.argument == "kernel_size" and len(shape) >= nd:
        history = _spatial_history(ctx.rows, nd)
        if history:
            d.arithmetic.append("spatial size along the flow: " + " -> ".join(history))
    return d


def _producer(rows: list[Row], shape: Shape) -> Row | None:
    for r in reversed(rows):
        if r.output_shapes and tuple(r.output_shapes[0]) == tuple(shape):
            return r
    return None


def _spatial_history(rows: list[Row], nd: int) -> list[str]:
    out: list[str] = []
    for r in rows:
        if not r.leaf or not r.output_shapes or len(r.output_shapes[0]) < nd + 2:
            continue
        sp = x_join(r.output_shapes[0][-nd:])
        if not out or out[-1].split(" (")[0] != sp:
            out.append(f"{sp} ({r.name})")
    return out


def _add(f: Failure, ctx: Context) -> Diagnosis:
    shapes = f.row.input_shapes
    if len(shapes) < 2:
        return _generic(f, ctx)
    a, b = shapes[0], shapes[1]
    if not mismatched_dims(a, b):
        return _generic(f, ctx)  # the shapes broadcast: torch refused for another reason (dtypes)
    msg = (f"`{shown(f.row)}`: cannot {f.row.kind} {fmt_shape(a)} and {fmt_shape(b)}: "
           f"the shapes do not broadcast")
    fixes = []
    if len(a) == len(b) and len(a) >= 3:
        nd = len(a) - 2
        if a[1] != b[1]:
            fixes.append(f"a 1x1 shortcut nn.Conv{nd}d({b[1]}, {a[1]}, kernel_size=1) so the "
                         f"channels match")
        if a[2:] != b[2:] and all(x and y for x, y in zip(a[2:], b[2:])):
            big, small = (b, a) if b[2] > a[2] else (a, b)
            ratios = {p // q for p, q in zip(big[2:], small[2:]) if q and p % q == 0}
            if len(ratios) == 1 and ratios != {1}:
                fixes.append(f"stride={ratios.pop()} in the branch that keeps {x_join(big[2:])}, so "
                             f"both give {x_join(small[2:])}")
            else:
                fixes.append("padding so both branches keep the same spatial size")
    elif len(a) == len(b) and a[-1] != b[-1]:
        fixes.append(f"a projection nn.Linear({b[-1]}, {a[-1]}) on the second operand")
    pa, pb = padded(a, b)
    bad = mismatched_dims(a, b)
    arithmetic = [f"dim {bad[0]}: {pa[bad[0]]} vs {pb[bad[0]]}"] if bad else []
    return Diagnosis(row=f.row.name, kind=f.row.kind, message=msg, expected=a, actual=b,
                     arithmetic=arithmetic, fixes=fixes or ["make both operands the same shape"])


def _cat(f: Failure, ctx: Context) -> Diagnosis:
    shapes = f.row.input_shapes
    dim = int(f.info.get("dim", 0))
    if len(shapes) < 2:
        return _generic(f, ctx)
    first = shapes[0]
    rank = len(first)
    d = dim % rank if rank else 0
    for i, s in enumerate(shapes[1:], start=1):
        if len(s) != rank:
            msg = f"`{shown(f.row)}`: tensor {i} is {len(s)}D {fmt_shape(s)}, tensor 0 is {rank}D {fmt_shape(first)}"
            return Diagnosis(row=f.row.name, kind=f.row.kind, message=msg, expected=first, actual=s,
                             fixes=["give all tensors the same number of dims"], argument="tensors")
        bad = [j for j in range(rank) if j != d and s[j] != first[j]]
        if bad:
            j = bad[0]
            msg = (f"`{shown(f.row)}`: sizes must match except in dim {d}; tensor 0 is {fmt_shape(first)}, "
                   f"tensor {i} is {fmt_shape(s)} (dim {j}: {first[j]} vs {s[j]})")
            fixes = [f"crop or pad tensor {i} to {first[j]} along dim {j} (e.g. F.pad, or "
                     f"F.interpolate(x, size=...) before the {f.row.kind})",
                     "keep the sizes even along the path (padding, or input sizes divisible by "
                     "the total stride)"]
            return Diagnosis(row=f.row.name, kind=f.row.kind, message=msg, expected=first, actual=s,
                             arithmetic=[f"dim {j}: {first[j]} vs {s[j]}"], fixes=fixes,
                             argument="tensors")
    return _generic(f, ctx)


def _generic(f: Failure, ctx: Context) -> Diagnosis:
    shape = f.row.input_shapes[0] if f.row.input_shapes else None
    fixes = [f.fix] if f.fix else []
    msg = f.message
    if not msg.startswith("`"):
        named = msg.startswith(f"{f.row.kind}:")  # the core's messages start with the layer
        msg = f"`{shown(f.row)}`{'' if named else ' (' + f.row.kind + ')'}: {msg}"
    return Diagnosis(row=f.row.name, kind=f.row.kind, message=msg, actual=shape,
                     arithmetic=[], fixes=fixes, argument=f.argument)


_RULES = {FailOp.VIEW: _view, FailOp.LINEAR: _linear, FailOp.CONV: _conv, FailOp.ADD: _add,
          FailOp.CAT: _cat, FailOp.OTHER: _generic}


def diagnose(f: Failure, ctx: Context) -> Diagnosis:
    """The diagnosis of one failure. The message always carries the original error's text
    when it adds something (torch's or the core's words)."""
    d = _RULES[f.op](f, ctx)
    if f.op is not FailOp.OTHER and f.message and f.message not in d.message:
        d.message = f"{d.message} (error: {f.message})"
    if f.fix and not d.fixes:
        d.fixes.append(f.fix)
    return d


def shown(row: Row) -> str:
    """The row's name in a message. The model itself (its root row, named '' as torch names
    it) is called by its class, as the table calls it: "`Linear` (Linear) expects ...", never
    "`` (Linear)". ``Diagnosis.row`` keeps the real name, which the renderers match rows by."""
    return row.name or row.kind


def assign(name: str, expr: str) -> str:
    """'fc1 = nn.Linear(1152, 512)'; a Sequential's numbered layer reads 'layer 2: nn.Conv2d(...)';
    the model itself (the root, named '') is what gets replaced: 'model = nn.Linear(...)'."""
    if not name:
        return f"model = {expr}"
    last = name.rpartition(".")[2]
    return f"{name} = {expr}" if last.isidentifier() else f"layer {name}: {expr}"


def batch_changed(row: Row, request: Sequence[int], in_shape: Shape, out_shape: Shape,
                  ctx: Context) -> Warning_:
    """``x.view(-1, 6272)`` on (49, 128, 3, 3): no error, but 49 samples became 9 rows."""
    per = tuple(in_shape[1:])
    per_n = math.prod(per)
    numel = math.prod(in_shape)
    call = f"{row.kind}({', '.join(str(d) for d in request)})"
    known = math.prod(d for d in request if d != -1)
    msg = (f"`{row.name}`: {call} turned a batch of {in_shape[0]} into {out_shape[0]}: "
           f"{numel} = {in_shape[0]} x {per_n} ({x_join(per)}) values make {out_shape[0]} rows of {known}")
    assumed = factor_like(known, per)
    if assumed is not None and assumed != per:
        msg += f"; {known} = {x_join(assumed)} but each sample is {x_join(per)}"
    fixes = [f"x.flatten(1) instead of x.{call} (gives {fmt_shape((in_shape[0], per_n))})"]
    fixes += [f for f in _linear_fixes(ctx, known, per_n) if "LazyLinear" not in f]
    return Warning_(code="batch_changed", row=row.name, message=msg, fix="; ".join(fixes))
