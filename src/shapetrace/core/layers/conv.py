"""Conv1d/2d/3d and ConvTranspose1d/2d/3d.

Formulas: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html and
https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html
(the "Shape" sections). Checks follow torch/nn/modules/conv.py (constructor) and
aten/src/ATen/native/Convolution.cpp (forward).
"""

from __future__ import annotations

from ..records import DimFormula, RFMode, RFOp, note
from ..formulas import conv_out, conv_transpose_out, floor_remainder
from .base import REQUIRED, Call, fmt_shape, prod, register

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _in_channels(n: int):
    return lambda inputs: inputs[0][-(n + 1)]


def _conv_signature():
    return [("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
            ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True),
            ("padding_mode", "zeros")]


def _transpose_signature():
    return [("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
            ("stride", 1), ("padding", 0), ("output_padding", 0), ("groups", 1), ("bias", True),
            ("dilation", 1), ("padding_mode", "zeros")]


def _channels_and_groups(c: Call) -> tuple[int, int, int]:
    cin = c.int_arg("in_channels")
    cout = c.int_arg("out_channels")
    groups = c.int_arg("groups")
    if groups <= 0:
        c.fail(f"groups must be a positive integer, got {groups}", argument="groups")
    if cin % groups:
        c.fail(f"in_channels {cin} is not divisible by groups {groups}", argument="groups",
               fix=f"use groups that divide {cin}")
    if cout % groups:
        c.fail(f"out_channels {cout} is not divisible by groups {groups}", argument="groups",
               fix=f"use groups that divide {cout}")
    return cin, cout, groups


def _check_input(c: Call, n: int, cin: int, cout: int, groups: int) -> tuple[int | None, tuple[int, ...]]:
    """Rank and channels; returns (batch or None if unbatched, spatial sizes)."""
    shape = c.input
    if len(shape) not in (n + 1, n + 2):
        c.fail(f"expected a {n + 1}D (unbatched) or {n + 2}D (batched) input, "
               f"got {len(shape)}D input of shape {fmt_shape(shape)}", argument="input")
    batch = shape[0] if len(shape) == n + 2 else None
    channels = shape[-(n + 1)]
    if cout < 1:
        c.fail(f"out_channels must be at least 1, got {cout}", argument="out_channels")
    if cin < 1:
        c.fail(f"in_channels must be at least 1, got {cin}", argument="in_channels")
    if channels != cin:
        c.fail(f"expected input with {cin} channels (in_channels), got {channels} channels "
               f"in input of shape {fmt_shape(shape)}", argument="in_channels",
               fix=f"in_channels={channels}")
    return batch, tuple(shape[-n:])


def _windows(c: Call, n: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    k = c.tuple_arg("kernel_size", n)
    s = c.tuple_arg("stride", n)
    d = c.tuple_arg("dilation", n)
    if any(v <= 0 for v in k):
        c.fail(f"kernel_size must be positive, got {fmt_shape(k) if n > 1 else k[0]}", argument="kernel_size")
    if any(v <= 0 for v in s):
        c.fail(f"stride must be positive, got {fmt_shape(s) if n > 1 else s[0]}", argument="stride")
    if any(v <= 0 for v in d):
        c.fail(f"dilation must be positive, got {fmt_shape(d) if n > 1 else d[0]}", argument="dilation")
    return k, s, d


def _conv(n: int):
    def rule(c: Call):
        cin, cout, groups = _channels_and_groups(c)
        mode = c.choice_arg("padding_mode", PADDING_MODES)
        bias = c.bool_arg("bias")
        pad_arg = c.args["padding"]
        stride_arg = c.tuple_arg("stride", n)
        if isinstance(pad_arg, str):
            if pad_arg not in ("same", "valid"):
                c.fail(f"padding must be 'same', 'valid', an integer or {n} integers, got {pad_arg!r}",
                       argument="padding")
            if pad_arg == "same" and any(v != 1 for v in stride_arg):
                c.fail(f"padding='same' is not supported for strided convolutions "
                       f"(stride={stride_arg[0] if n == 1 else stride_arg})", argument="padding",
                       fix="use stride=1, or give padding as a number")
        k, s, d = _windows(c, n)
        batch, spatial = _check_input(c, n, cin, cout, groups)

        # Low and high padding per dim. 'same' pads dilation*(k-1) in total, the odd
        # pixel on the high side (torch/nn/modules/conv.py, _reversed_padding_repeated_twice).
        if pad_arg == "same":
            total = [d[i] * (k[i] - 1) for i in range(n)]
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - t // 2 for t in total)
        elif pad_arg == "valid":
            lo = hi = (0,) * n
        else:
            p = c.tuple_arg("padding", n)
            if any(v < 0 for v in p):
                c.fail(f"padding must be non-negative, got {p[0] if n == 1 else p}", argument="padding")
            lo = hi = p

        axes = AXES[n]
        if mode != "zeros":
            _check_padding_mode(c, mode, spatial, lo, hi, axes)

        out, formulas, notes = [], [], []
        for i, ax in enumerate(axes):
            padded = spatial[i] + lo[i] + hi[i]
            span = d[i] * (k[i] - 1) + 1
            if padded < span:
                c.fail(f"kernel_size {k[i]} (dilated: {span}) is larger than the padded input "
                       f"{_axis_word(ax)} {padded} ({spatial[i]} + {lo[i]} + {hi[i]})",
                       argument="kernel_size",
                       fix=f"padding >= {-(-(span - spatial[i]) // 2)} or a smaller kernel_size")
            o = conv_out(spatial[i], lo[i] + hi[i], k[i], s[i], d[i])
            out.append(o)
            pad_txt = f"2*{lo[i]}" if lo[i] == hi[i] else f"({lo[i]}+{hi[i]})"
            pad_sym = "2*padding" if pad_arg != "same" else "pad_total"
            formulas.append(DimFormula(
                ax,
                f"floor(({ax}_in + {pad_sym} - dilation*(kernel_size-1) - 1) / stride) + 1",
                f"floor(({spatial[i]} + {pad_txt} - {d[i]}*({k[i]}-1) - 1) / {s[i]}) + 1",
                o))
            rem = floor_remainder(spatial[i], lo[i] + hi[i], k[i], s[i], d[i])
            if rem:
                notes.append(note("floor_drops", axis=ax, rows=rem, stride=s[i]))
        if pad_arg == "same":
            notes.append(note("same_padding", lo=list(lo), hi=list(hi)))
        out_shape = ((batch,) if batch is not None else ()) + (cout,) + tuple(out)
        params = cout * (cin // groups) * prod(k) + (cout if bias else 0)
        macs = (batch if batch is not None else 1) * cout * prod(out) * (cin // groups) * prod(k)
        return c.result(out_shape, params=params, macs=macs, formulas=formulas, notes=notes,
                        rf=RFOp(k, s, lo, d))

    return rule


def _axis_word(ax: str) -> str:
    return {"L": "length", "H": "height", "W": "width", "D": "depth"}.get(ax, ax)


def _check_padding_mode(c: Call, mode: str, spatial, lo, hi, axes) -> None:
    """F.pad's limits for the non-zero padding modes (aten/src/ATen/native/PadNd.cpp)."""
    for i, ax in enumerate(axes):
        p = max(lo[i], hi[i])
        if mode == "reflect" and p >= spatial[i]:
            c.fail(f"padding_mode='reflect' needs padding smaller than the input {_axis_word(ax)}: "
                   f"padding {p}, input {_axis_word(ax)} {spatial[i]}", argument="padding",
                   fix=f"padding <= {spatial[i] - 1} or padding_mode='zeros'")
        if mode == "circular" and p > spatial[i]:
            c.fail(f"padding_mode='circular' wraps around more than once: padding {p} > input "
                   f"{_axis_word(ax)} {spatial[i]}", argument="padding",
                   fix=f"padding <= {spatial[i]}")
        if mode == "replicate" and spatial[i] == 0 and p > 0:
            c.fail(f"padding_mode='replicate' needs a non-empty input {_axis_word(ax)}", argument="padding")


def _conv_transpose(n: int):
    def rule(c: Call):
        cin, cout, groups = _channels_and_groups(c)
        mode = c.args["padding_mode"]
        if mode != "zeros":
            c.fail(f"only padding_mode='zeros' is supported, got {mode!r}", argument="padding_mode")
        bias = c.bool_arg("bias")
        if isinstance(c.args["padding"], str):
            c.fail(f"padding must be an integer or {n} integers (no 'same'/'valid' for transposed "
                   f"convolutions), got {c.args['padding']!r}", argument="padding")
        k, s, d = _windows(c, n)
        p = c.tuple_arg("padding", n)
        op = c.tuple_arg("output_padding", n)
        if any(v < 0 for v in p):
            c.fail(f"padding must be non-negative, got {p[0] if n == 1 else p}", argument="padding")
        if any(v < 0 for v in op):
            c.fail(f"output_padding must be non-negative, got {op[0] if n == 1 else op}",
                   argument="output_padding")
        for i in range(n):
            if op[i] >= s[i] and op[i] >= d[i]:
                c.fail(f"output_padding {op[i]} must be smaller than either stride {s[i]} or "
                       f"dilation {d[i]}", argument="output_padding",
                       fix=f"output_padding <= {max(s[i], d[i]) - 1}")
        batch, spatial = _check_input(c, n, cin, cout, groups)
        axes = AXES[n]
        out, formulas = [], []
        for i, ax in enumerate(axes):
            o = conv_transpose_out(spatial[i], p[i], k[i], s[i], d[i], op[i])
            if o < 1:
                c.fail(f"output {_axis_word(ax)} {o} is too small: ({spatial[i]}-1)*{s[i]} - 2*{p[i]} "
                       f"+ {d[i]}*({k[i]}-1) + {op[i]} + 1 = {o}", argument="padding",
                       fix="use a smaller padding")
            out.append(o)
            formulas.append(DimFormula(
                ax,
                f"({ax}_in - 1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1",
                f"({spatial[i]} - 1)*{s[i]} - 2*{p[i]} + {d[i]}*({k[i]}-1) + {op[i]} + 1",
                o))
        b = batch if batch is not None else 1
        out_shape = ((batch,) if batch is not None else ()) + (cout,) + tuple(out)
        params = cin * (cout // groups) * prod(k) + (cout if bias else 0)
        # Every input value is multiplied into a kernel of (cout/groups) x k taps.
        macs = b * cin * prod(spatial) * (cout // groups) * prod(k)
        return c.result(out_shape, params=params, macs=macs, formulas=formulas, rf_mode=RFMode.UNKNOWN)

    return rule


for _n in (1, 2, 3):
    register(f"Conv{_n}d", _conv_signature(), family="conv",
             inferred={"in_channels": _in_channels(_n)})(_conv(_n))
    register(f"ConvTranspose{_n}d", _transpose_signature(), family="conv",
             inferred={"in_channels": _in_channels(_n)})(_conv_transpose(_n))
