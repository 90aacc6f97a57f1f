"""Conv1d/2d/3d and ConvTranspose1d/2d/3d.

Formulas: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html and
https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html
(the "Shape" sections). Checks follow torch/nn/modules/conv.py (constructor) and
aten/src/ATen/native/Convolution.cpp (forward).

Torch's rules worth knowing:
- ``stride``, ``padding``, ``dilation`` (and ``output_padding``) may be 1-tuples, which the
  functional convolutions broadcast; ``kernel_size`` may not (it shapes the weight);
- with ``padding_mode`` other than 'zeros' the module pads with ``F.pad`` first, using the
  padding tuple as given, so ``Conv2d(..., padding=(1,), padding_mode='reflect')`` pads
  only the last dimension (and fails on a batched input);
- an input with an empty spatial dimension works only if its batch or channels are
  empty; a convolution with ``in_channels=0`` on an input with 0 channels returns an
  output with 0 channels (not ``out_channels``);
- a transposed convolution whose output size works out to 0 succeeds on CPU for an
  empty batch or a batch of 2 or more (the oneDNN kernel) but fails for a batch of 1 or
  an unbatched input (the native kernel); shapetrace follows and adds a note;
- ``padding='same'`` pads ``dilation*(kernel_size-1)`` in total, the odd one on the
  high side, and refuses ``stride > 1``.

Inferred argument (may be left out): ``in_channels``, the input's channel size
(dim -(n+1)), which torch requires.
"""

from __future__ import annotations

from ..formulas import conv_out, conv_transpose_out, floor_remainder
from ..records import DimFormula, RFMode, RFOp, note
from .base import AXES, REQUIRED, Call, axis_word, fmt_shape, prod, register, show
from .padding import PadMode, pad_shape

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
    if cin < 0:
        c.fail(f"in_channels must not be negative, got {cin}", argument="in_channels")
    if cout < 0:
        c.fail(f"out_channels must not be negative, got {cout}", argument="out_channels")
    if cin % groups:
        c.fail(f"in_channels {cin} is not divisible by groups {groups}", argument="groups",
               fix=f"use groups that divide {cin}")
    if cout % groups:
        c.fail(f"out_channels {cout} is not divisible by groups {groups}", argument="groups",
               fix=f"use groups that divide {cout}")
    return cin, cout, groups


def _check_input(c: Call, n: int, cin: int) -> tuple[int | None, tuple[int, ...]]:
    """Rank and channels; returns (batch or None if unbatched, spatial sizes)."""
    shape = c.input
    if len(shape) not in (n + 1, n + 2):
        c.fail(f"expected a {n + 1}D (unbatched) or {n + 2}D (batched) input, "
               f"got {len(shape)}D input of shape {fmt_shape(shape)}", argument="input")
    batch = shape[0] if len(shape) == n + 2 else None
    channels = shape[-(n + 1)]
    if channels != cin:
        c.fail(f"expected input with {cin} channels (in_channels), got {channels} channels "
               f"in input of shape {fmt_shape(shape)}", argument="in_channels",
               fix=f"in_channels={channels}")
    return batch, tuple(shape[-n:])


def _windows(c: Call, n: int, cin: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    k = c.tuple_arg("kernel_size", n)
    s = c.tuple_arg("stride", n, allow_one=True)
    d = c.tuple_arg("dilation", n, allow_one=True)
    # With no input channels torch skips the kernels' own checks (kernel_size > 0,
    # dilation > 0); only the shape checks before them remain.
    least = 1 if cin else 0
    if any(v < least for v in k):
        c.fail(f"kernel_size must be positive, got {show(k)}", argument="kernel_size")
    if any(v <= 0 for v in s):
        c.fail(f"stride must be positive, got {show(s)}", argument="stride")
    if any(v < least for v in d):
        c.fail(f"dilation must be positive, got {show(d)}", argument="dilation")
    return k, s, d


def _empty_spatial(c: Call, batch: int | None, channels: int, spatial: tuple[int, ...]) -> None:
    """aten: "Only zero batch or zero channel inputs are supported"."""
    if 0 in spatial and batch != 0 and channels != 0:
        c.fail(f"input {fmt_shape(c.input)} has an empty spatial dimension; torch allows that only "
               f"with an empty batch or 0 channels", argument="input")


def _conv(n: int):
    def rule(c: Call):
        cin, cout, groups = _channels_and_groups(c)
        mode = c.choice_arg("padding_mode", PADDING_MODES)
        bias = c.bool_arg("bias")
        pad_arg = c.args["padding"]
        stride_arg = c.tuple_arg("stride", n, allow_one=True)
        if isinstance(pad_arg, str):
            if pad_arg not in ("same", "valid"):
                c.fail(f"padding must be 'same', 'valid', an integer or {n} integers, got {pad_arg!r}",
                       argument="padding")
            if pad_arg == "same" and any(v != 1 for v in stride_arg):
                c.fail(f"padding='same' is not supported for strided convolutions "
                       f"(stride={show(stride_arg)})", argument="padding",
                       fix="use stride=1, or give padding as a number")
        k, s, d = _windows(c, n, cin)
        if cout < 1:
            c.fail(f"out_channels must be at least 1, got {cout}", argument="out_channels")
        batch, spatial = _check_input(c, n, cin)

        # Low and high padding per dim. 'same' pads dilation*(k-1) in total, the odd pixel
        # on the high side (torch/nn/modules/conv.py, _reversed_padding_repeated_twice).
        if pad_arg == "same":
            total = [d[i] * (k[i] - 1) for i in range(n)]
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - t // 2 for t in total)
            given = n
        elif pad_arg == "valid":
            lo = hi = (0,) * n
            given = n
        else:
            p = c.tuple_arg("padding", n, allow_one=True)
            # Other padding modes hand the padding to F.pad, which crops where it is negative.
            if mode == "zeros" and any(v < 0 for v in p):
                c.fail(f"padding must be non-negative, got {show(p)}", argument="padding")
            lo = hi = p
            given = 1 if n > 1 and not isinstance(pad_arg, int) and len(pad_arg) == 1 else n

        axes_ = AXES[n]
        if mode != "zeros":
            # The module pads with F.pad first (the padding as given, last dim first), then
            # convolves with padding 0; a 1-tuple pads only the last dimension.
            lo = (0,) * (n - given) + lo[n - given:]
            hi = (0,) * (n - given) + hi[n - given:]
            pads: list[int] = []
            for i in reversed(range(n - given, n)):
                pads += [lo[i], hi[i]]
            pad_shape(c, PadMode(mode), c.input, tuple(pads))

        out, formulas, notes = [], [], []
        for i, ax in enumerate(axes_):
            size = spatial[i]
            padded = size + lo[i] + hi[i]
            span = d[i] * (k[i] - 1) + 1
            if padded < span:
                c.fail(f"kernel_size {k[i]} (dilated: {span}) is larger than the padded input "
                       f"{_axis_word(ax)} {padded} ({size} + {lo[i]} + {hi[i]})",
                       argument="kernel_size",
                       fix=f"padding >= {-(-(span - size) // 2)} or a smaller kernel_size")
            o = conv_out(padded, 0, k[i], s[i], d[i])
            out.append(o)
            pad_txt = f"2*{lo[i]}" if lo[i] == hi[i] else f"({lo[i]}+{hi[i]})"
            pad_sym = "2*padding" if pad_arg != "same" else "pad_total"
            formulas.append(DimFormula(
                ax,
                f"floor(({ax}_in + {pad_sym} - dilation*(kernel_size-1) - 1) / stride) + 1",
                f"floor(({size} + {pad_txt} - {d[i]}*({k[i]}-1) - 1) / {s[i]}) + 1",
                o))
            rem = floor_remainder(padded, 0, k[i], s[i], d[i])
            if rem:
                notes.append(note("floor_drops", axis=ax, rows=rem, stride=s[i]))
        _empty_spatial(c, batch, cin, spatial)
        if pad_arg == "same":
            notes.append(note("same_padding", lo=list(lo), hi=list(hi)))
        # torch quirk: with no input channels the result has no channels either.
        c_out = cout if cin else 0
        if not cin:
            notes.append(note("conv_zero_channels", out_channels=cout))
        out_shape = ((batch,) if batch is not None else ()) + (c_out,) + tuple(out)
        params = cout * (cin // groups) * prod(k) + (cout if bias else 0)
        macs = (batch if batch is not None else 1) * cout * prod(out) * (cin // groups) * prod(k)
        return c.result(out_shape, params=params, macs=macs, formulas=formulas, notes=notes,
                        rf=RFOp(k, s, lo, d))

    return rule


_axis_word = axis_word


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
        k, s, d = _windows(c, n, 1)
        p = c.tuple_arg("padding", n, allow_one=True)
        op = c.tuple_arg("output_padding", n, allow_one=True)
        if any(v < 0 for v in p):
            c.fail(f"padding must be non-negative, got {show(p)}", argument="padding")
        if any(v < 0 for v in op):
            c.fail(f"output_padding must be non-negative, got {show(op)}", argument="output_padding")
        for i in range(n):
            if op[i] >= s[i] and op[i] >= d[i]:
                c.fail(f"output_padding {op[i]} must be smaller than either stride {s[i]} or "
                       f"dilation {d[i]}", argument="output_padding",
                       fix=f"output_padding <= {max(s[i], d[i]) - 1}")
        # The transposed weight is (in_channels, out_channels/groups, *kernel_size): both
        # must be non-empty.
        if cin < 1:
            c.fail(f"in_channels must be at least 1, got {cin}", argument="in_channels")
        if cout < 1:
            c.fail(f"out_channels must be at least 1, got {cout}", argument="out_channels")
        batch, spatial = _check_input(c, n, cin)
        _empty_spatial(c, batch, cin, spatial)
        axes = AXES[n]
        out, formulas = [], []
        for i, ax in enumerate(axes):
            o = conv_transpose_out(spatial[i], p[i], k[i], s[i], d[i], op[i])
            # torch's CPU kernels differ: with a batch of 1 (or none) the native kernel
            # requires an output of at least 1; an empty batch, or a batch of 2 or more
            # (oneDNN), allows an empty output. Only a negative size fails everywhere.
            if o < (1 if batch in (None, 1) else 0):
                c.fail(f"output {_axis_word(ax)} {o} is too small: ({spatial[i]}-1)*{s[i]} - 2*{p[i]} "
                       f"+ {d[i]}*({k[i]}-1) + {op[i]} + 1 = {o}", argument="padding",
                       fix="use a smaller padding")
            out.append(o)
            formulas.append(DimFormula(
                ax,
                f"({ax}_in - 1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1",
                f"({spatial[i]} - 1)*{s[i]} - 2*{p[i]} + {d[i]}*({k[i]}-1) + {op[i]} + 1",
                o))
        if 0 in out:
            empty_notes = [note("conv_transpose_empty")]
        else:
            empty_notes = []
        b = batch if batch is not None else 1
        out_shape = ((batch,) if batch is not None else ()) + (cout,) + tuple(out)
        params = cin * (cout // groups) * prod(k) + (cout if bias else 0)
        # Every input value is multiplied into a kernel of (cout/groups) x k taps.
        macs = b * cin * prod(spatial) * (cout // groups) * prod(k)
        return c.result(out_shape, params=params, macs=macs, formulas=formulas, notes=empty_notes,
                        rf_mode=RFMode.UNKNOWN)

    return rule


for _n in (1, 2, 3):
    register(f"Conv{_n}d", _conv_signature(), family="conv",
             inferred={"in_channels": _in_channels(_n)})(_conv(_n))
    register(f"ConvTranspose{_n}d", _transpose_signature(), family="conv",
             inferred={"in_channels": _in_channels(_n)})(_conv_transpose(_n))
