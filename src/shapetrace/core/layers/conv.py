"""Conv1d/2d/3d and ConvTranspose1d/2d/3d.

Formulas: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html and
https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html
(the "Shape" sections). Checks follow torch/nn/modules/conv.py (constructor) and
aten/src/ATen/native/Convolution.cpp (forward).

Torch's rules worth knowing:
- ``stride``, ``padding``, ``dilation`` (and ``output_padding``) may be 1-tuples, which the
  functional convolutions broadcast; ``kernel_size`` may not (it shapes the weight);
- with ``padding_mode`` other than 'zeros' the module pads with ``F.pad`` first, using the
  padding tuple as given (reversed, each value twice), then convolves without padding: so
  ``Conv2d(..., padding=(1,), padding_mode='reflect')`` pads only the last dimension (and
  fails on a batched input), a longer tuple also pads the channels, and a negative
  padding crops;
- an input with an empty spatial dimension works only if its batch or channels are
  empty; an empty input skips the kernels' checks (dilation 0 and, for transposed
  convolutions, an over-large output_padding pass); a convolution with
  ``in_channels=0`` on an input with 0 channels returns an output with 0 channels
  (not ``out_channels``), and takes kernel_size 0;
- a transposed convolution whose output size works out to 0 succeeds on CPU where torch
  picks its oneDNN kernel (a batch of 2 or more, groups > 1, a kernel larger than 3x3,
  ... with more than one thread) and for an empty batch, but fails in the native kernel
  (e.g. a batch of 1 with groups=1 and a 3x3 kernel); shapetrace follows torch's CPU
  choice (see ``_uses_onednn``) and adds a note;
- ``padding='same'`` pads ``dilation*(kernel_size-1)`` in total, the odd one on the
  high side, and refuses ``stride > 1``.

Inferred argument (may be left out): ``in_channels``, the input's channel size
(dim -(n+1)), which torch requires.
"""

from __future__ import annotations

from ..formulas import conv_out, conv_transpose_out, floor_remainder
from ..records import Category, DimFormula, RFMode, RFOp, note
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


def _channels_and_groups(c: Call, n: int) -> tuple[int, int, int]:
    if c.args["in_channels"] is None and len(c.input) < n + 1:
        # in_channels is read off the input, which has no channel dimension: say that the
        # rank is wrong, not that in_channels is None ("must be an integer, got None")
        c.batched_rank(n)
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


def _check_input(c: Call, n: int, cin: int, shape=None) -> tuple[int | None, tuple[int, ...]]:
    """Rank and channels of ``shape`` (the input, or the input after F.pad); returns
    (batch or None if unbatched, spatial sizes)."""
    shape = c.input if shape is None else shape
    c.batched_rank(n, shape)
    batch = shape[0] if len(shape) == n + 2 else None
    channels = shape[-(n + 1)]
    if channels != cin:
        c.fail(f"expected input with {cin} channel{'' if cin == 1 else 's'} (in_channels), got {channels} "
               f"channel{'' if channels == 1 else 's'} "
               f"in input of shape {fmt_shape(shape)}", argument="in_channels",
               fix=f"in_channels={channels}")
    return batch, tuple(shape[-n:])


def _windows(c: Call, n: int, kernel_min: int = 1,
             dilation_min: int = 1) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """kernel_size, stride, dilation. An empty input takes torch's "Empty" backend, which
    skips the kernels' own checks: there dilation 0 passes (``dilation_min=0``), and with
    no input channels so does kernel_size 0 (``kernel_min=0``)."""
    k = c.tuple_arg("kernel_size", n)
    s = c.tuple_arg("stride", n, allow_one=True)
    d = c.tuple_arg("dilation", n, allow_one=True)
    if any(v < kernel_min for v in k):
        c.fail(f"kernel_size must be positive, got {show(k)}", argument="kernel_size")
    if any(v <= 0 for v in s):
        c.fail(f"stride must be positive, got {show(s)}", argument="stride")
    if any(v < dilation_min for v in d):
        c.fail(f"dilation must be positive, got {show(d)}", argument="dilation")
    return k, s, d


def _empty_spatial(c: Call, batch: int | None, channels: int, spatial: tuple[int, ...], shape=None) -> None:
    """aten: "Only zero batch or zero channel inputs are supported"."""
    if 0 in spatial and batch != 0 and channels != 0:
        c.fail(f"input {fmt_shape(shape or c.input)} has an empty spatial dimension; torch allows that "
               f"only with an empty batch or 0 channels", argument="input")


def _same(n: int, k, d) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """'same' pads dilation*(k-1) in total, the odd pixel on the high side
    (torch/nn/modules/conv.py, ``_reversed_padding_repeated_twice``)."""
    total = [d[i] * (k[i] - 1) for i in range(n)]
    return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)


def _conv(n: int):
    def rule(c: Call):
        cin, cout, groups = _channels_and_groups(c, n)
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
                       f"(stride={c.args['stride']!r})", argument="padding",
                       fix="use stride=1, or give padding as a number")
        k = c.tuple_arg("kernel_size", n)
        d = c.tuple_arg("dilation", n, allow_one=True)

        shape = c.input
        if mode == "zeros":
            if pad_arg == "same":
                lo, hi = _same(n, k, d)
            elif pad_arg == "valid":
                lo = hi = (0,) * n
            else:
                lo = hi = c.tuple_arg("padding", n, allow_one=True)
                if any(v < 0 for v in lo):
                    c.fail(f"padding must be non-negative, got {show(lo)}", argument="padding")
        else:
            # The module pads with F.pad first, then convolves with padding 0. F.pad gets the
            # padding as given, reversed and repeated (``_reverse_repeat_tuple``): a tuple of
            # another length than n pads that many trailing dims, negative values crop.
            if pad_arg == "same":
                lo, hi = _same(n, k, d)
                pads = [v for i in reversed(range(n)) for v in (lo[i], hi[i])]
            else:
                raw = (0,) * n if pad_arg == "valid" else pad_arg
                if isinstance(raw, int) and not isinstance(raw, bool):
                    raw = (raw,) * n
                if not isinstance(raw, (list, tuple)) or not all(isinstance(v, int) for v in raw):
                    c.bad_arg("padding", f"must be an integer or a tuple of integers, got {pad_arg!r}")
                pads = [v for p in reversed(raw) for v in (p, p)]
            shape = pad_shape(c, PadMode(mode), c.input, tuple(pads))
            given = len(pads) // 2
            lo = tuple(pads[2 * (n - 1 - i)] if n - 1 - i < given else 0 for i in range(n))
            hi = tuple(pads[2 * (n - 1 - i) + 1] if n - 1 - i < given else 0 for i in range(n))

        empty = prod(shape) == 0
        k, s, d = _windows(c, n, kernel_min=1 if cin else 0, dilation_min=0 if empty else 1)
        if cout < 1:
            c.fail(f"out_channels must be at least 1, got {cout}", argument="out_channels")
        batch, padded_spatial = _check_input(c, n, cin, shape)
        spatial = tuple(c.input[-n:]) if len(c.input) >= n else padded_spatial
        conv_pad = (0,) * n if mode != "zeros" else tuple(lo[i] + hi[i] for i in range(n))

        out, formulas, notes = [], [], []
        for i, ax in enumerate(AXES[n]):
            size = spatial[i]
            padded = padded_spatial[i] + conv_pad[i]
            span = d[i] * (k[i] - 1) + 1
            if padded < span:
                c.fail(f"kernel_size {k[i]} (dilated: {span}) is larger than the padded input "
                       f"{axis_word(ax)} {padded} ({size} + {lo[i]} + {hi[i]})",
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
        _empty_spatial(c, batch, cin, padded_spatial, shape)
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


def _uses_onednn(batch: int | None, cin: int, spatial: tuple[int, ...], k: tuple[int, ...],
                 groups: int) -> bool:
    """Whether torch's CPU build picks oneDNN for this (transposed) convolution:
    ``ConvParams::use_mkldnn`` in aten/src/ATen/native/Convolution.cpp, for float32 on a
    machine where torch runs more than one thread (its default on a multi-core CPU).
    A 1d convolution is run as 2d on (N, C, 1, L). (The caller adds the other condition:
    no output_padding >= stride.)"""
    n4 = ((batch if batch is not None else 1), cin) + ((1,) + spatial if len(spatial) == 1 else spatial[:2])
    kw, kh = k[-1], (k[-2] if len(k) > 1 else 1)
    return groups > 1 or (kw > 3 and kh > 3) or n4[0] > 1 or prod(n4) > 20480


def _conv_transpose(n: int):
    def rule(c: Call):
        cin, cout, groups = _channels_and_groups(c, n)
        mode = c.args["padding_mode"]
        if mode != "zeros":
            c.fail(f"only padding_mode='zeros' is supported, got {mode!r}", argument="padding_mode")
        bias = c.bool_arg("bias")
        if isinstance(c.args["padding"], str):
            c.fail(f"padding must be an integer or {n} integers (no 'same'/'valid' for transposed "
                   f"convolutions), got {c.args['padding']!r}", argument="padding")
        empty = prod(c.input) == 0
        k, s, d = _windows(c, n, dilation_min=0)
        p = c.tuple_arg("padding", n, allow_one=True)
        op = c.tuple_arg("output_padding", n, allow_one=True)
        if any(v < 0 for v in p):
            c.fail(f"padding must be non-negative, got {show(p)}", argument="padding")
        if any(v < 0 for v in op):
            c.fail(f"output_padding must be non-negative, got {show(op)}", argument="output_padding")
        for i in range(n):
            # Checked by the kernels, which an empty input never reaches.
            if op[i] >= s[i] and op[i] >= d[i] and not empty:
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
        onednn = _uses_onednn(batch, cin, spatial, k, groups) and not any(op[i] >= s[i] for i in range(n))
        for i in range(n):
            # The native kernel wants dilation > 0; oneDNN takes 0 where the kernel has one tap
            # (in 1d/2d); an empty input checks neither.
            if d[i] == 0 and not empty and not (onednn and n < 3 and k[i] == 1):
                c.fail(f"dilation must be positive, got {show(d)}", argument="dilation")
        axes = AXES[n]
        out, formulas = [], []
        for i, ax in enumerate(axes):
            o = conv_transpose_out(spatial[i], p[i], k[i], s[i], d[i], op[i])
            # torch's CPU kernels differ: the native kernel requires an output of at least
            # 1; oneDNN and an empty batch allow an empty output. Only a negative size
            # fails everywhere.
            if o < (0 if empty or onednn else 1):
                c.fail(f"output {axis_word(ax)} {o} is too small: (in-1)*stride - 2*padding + "
                       f"dilation*(kernel_size-1) + output_padding + 1 = ({spatial[i]}-1)*{s[i]} - 2*{p[i]} "
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
    register(f"Conv{_n}d", _conv_signature(), family="conv", category=Category.CONV, short="Conv",
             functional=(f"conv{_n}d",), notes=("floor_drops", "same_padding", "conv_zero_channels"),
             inferred={"in_channels": _in_channels(_n)})(_conv(_n))
    register(f"ConvTranspose{_n}d", _transpose_signature(), family="conv", category=Category.CONV_T,
             short="ConvTranspose", functional=(f"conv_transpose{_n}d",), notes=("conv_transpose_empty",),
             inferred={"in_channels": _in_channels(_n)})(_conv_transpose(_n))
