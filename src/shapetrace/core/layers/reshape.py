"""Layers that rearrange elements without arithmetic: Flatten, Unflatten, PixelShuffle,
PixelUnshuffle, ChannelShuffle, Fold and Unfold.

Shapes: the "Shape" sections of https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html,
.../torch.nn.Unflatten.html, .../torch.nn.PixelShuffle.html, .../torch.nn.PixelUnshuffle.html,
.../torch.nn.ChannelShuffle.html, .../torch.nn.Fold.html and .../torch.nn.Unfold.html.
Checks from aten/src/ATen/native/TensorShape.cpp (flatten, unflatten),
PixelShuffle.cpp, ChanelShuffle.cpp and Im2Col.cpp / Col2Im.cpp (im2col_shape_check,
col2im_shape_check).

Torch's rules worth knowing:
- a 0-d tensor flattens to shape (1,), and dims wrap as if it had one dimension;
- Unflatten takes at most one -1, and none when the other sizes multiply to 0;
- PixelUnshuffle returns an empty input with its shape unchanged (PixelShuffle does not);
- Fold/Unfold work on exactly 2 spatial dimensions and a non-empty input (apart from
  the batch); Fold's input length must equal the number of sliding blocks.
"""

from __future__ import annotations

from ..formulas import conv_out
from ..records import Category, DimFormula, RFMode, RFOp, note
from .base import REQUIRED, Call, fmt_shape, is_int, prod, register, show


@register("Flatten", [("start_dim", 1), ("end_dim", -1)], family="reshape", category=Category.FLATTEN,
          functional=("flatten",))
def flatten(c: Call):
    shape = c.input
    start = c.dim_arg("start_dim", len(shape))
    end = c.dim_arg("end_dim", len(shape))
    if len(shape) == 0:
        return c.result((1,), rf_mode=RFMode.GLOBAL,
                        formulas=[DimFormula("features", "1 (a 0-d tensor flattens to one element)", "1", 1)])
    if start > end:
        c.fail(f"start_dim {c['start_dim']} comes after end_dim {c['end_dim']} for a {len(shape)}D input",
               argument="start_dim", fix="start_dim <= end_dim")
    merged = shape[start:end + 1]
    size = prod(merged)
    out = shape[:start] + (size,) + shape[end + 1:]
    if start == end:
        return c.result(out)
    worked = " * ".join(str(d) for d in merged)
    return c.result(out, rf_mode=RFMode.GLOBAL, formulas=[
        DimFormula("features", f"product of dims {start}..{end}", worked, size)])


@register("Unflatten", [("dim", REQUIRED), ("unflattened_size", REQUIRED)], family="reshape",
          category=Category.RESHAPE)
def unflatten(c: Call):
    shape = c.input
    sizes = c.args["unflattened_size"]
    if not isinstance(sizes, (list, tuple)) or not all(is_int(s) for s in sizes):
        c.bad_arg("unflattened_size", f"must be a tuple or list of integers, got {sizes!r}")
    sizes = tuple(int(s) for s in sizes)
    if len(shape) == 0:
        c.fail("cannot unflatten a 0-d input", argument="input")
    dim = c.dim_arg("dim", len(shape))
    if not sizes:
        c.fail("unflattened_size must not be empty", argument="unflattened_size")
    n_infer = sum(1 for s in sizes if s == -1)
    if n_infer > 1 or any(s < -1 for s in sizes):
        c.fail(f"unflattened_size {sizes} may hold at most one -1 and no other negative size",
               argument="unflattened_size")
    total = shape[dim]
    known = prod(s for s in sizes if s != -1)
    if n_infer:
        if known == 0 or total % known:
            why = ("the other sizes multiply to 0, so -1 is ambiguous" if known == 0
                   else f"{total} is not divisible by {known}")
            c.fail(f"unflattened_size {sizes} cannot split dim {dim} of size {total}: {why}",
                   argument="unflattened_size")
        sizes = tuple(total // known if s == -1 else s for s in sizes)
    elif known != total:
        c.fail(f"unflattened_size {sizes} multiplies to {known}, but dim {dim} of input "
               f"{fmt_shape(shape)} has size {total}", argument="unflattened_size",
               fix=f"sizes whose product is {total}")
    out = shape[:dim] + sizes + shape[dim + 1:]
    given = tuple(int(v) for v in c.args["unflattened_size"])
    formulas = []
    for j, size in enumerate(sizes):
        if given[j] == -1:
            others = " * ".join(str(v) for i, v in enumerate(sizes) if i != j) or "1"
            formulas.append(DimFormula(f"dim{dim + j}", f"{total} / (product of the other sizes)",
                                       f"{total} / ({others})", size))
        else:
            formulas.append(DimFormula(f"dim{dim + j}", f"unflattened_size[{j}]", f"{size}", size))
    return c.result(out, rf_mode=RFMode.UNKNOWN, formulas=formulas)


def _factor(c: Call, name: str) -> int:
    r = c.int_arg(name)
    if r <= 0:
        c.fail(f"{name} must be positive, got {r}", argument=name)
    return r


def _at_least_3d(c: Call, what: str) -> None:
    if len(c.input) < 3:
        c.fail(f"{what} needs an input with at least 3 dimensions (*, C, H, W), got "
               f"{len(c.input)}D input of shape {fmt_shape(c.input)}", argument="input")


@register("PixelShuffle", [("upscale_factor", REQUIRED)], family="reshape", category=Category.RESHAPE,
          functional=("pixel_shuffle",))
def pixel_shuffle(c: Call):
    r = _factor(c, "upscale_factor")
    _at_least_3d(c, "PixelShuffle")
    *lead, ch, h, w = c.input
    if ch % (r * r):
        c.fail(f"input channels {ch} are not divisible by upscale_factor**2 = {r * r}",
               argument="upscale_factor", fix=f"a channel count that is a multiple of {r * r}")
    out = tuple(lead) + (ch // (r * r), h * r, w * r)
    return c.result(out, rf_mode=RFMode.UNKNOWN, formulas=[
        DimFormula("C", "C_in / upscale_factor**2", f"{ch} / {r}**2", ch // (r * r)),
        DimFormula("H", "H_in * upscale_factor", f"{h} * {r}", h * r),
        DimFormula("W", "W_in * upscale_factor", f"{w} * {r}", w * r)])


@register("PixelUnshuffle", [("downscale_factor", REQUIRED)], family="reshape", category=Category.RESHAPE,
          functional=("pixel_unshuffle",), notes=("pixel_unshuffle_empty",))
def pixel_unshuffle(c: Call):
    r = _factor(c, "downscale_factor")
    _at_least_3d(c, "PixelUnshuffle")
    *lead, ch, h, w = c.input
    for ax, size in (("height", h), ("width", w)):
        if size % r:
            c.fail(f"input {ax} {size} is not divisible by downscale_factor {r}",
                   argument="downscale_factor", fix=f"an input {ax} that is a multiple of {r}")
    out = tuple(lead) + (ch * r * r, h // r, w // r)
    if prod(c.input) == 0:
        # torch returns an empty input unchanged here (aten pixel_unshuffle's early return).
        return c.result(c.input, notes=[note("pixel_unshuffle_empty", shape=fmt_shape(out))],
                        rf_mode=RFMode.UNKNOWN)
    return c.result(out, rf=RFOp((r, r), (r, r), (0, 0), (1, 1)), formulas=[
        DimFormula("C", "C_in * downscale_factor**2", f"{ch} * {r}**2", ch * r * r),
        DimFormula("H", "H_in / downscale_factor", f"{h} / {r}", h // r),
        DimFormula("W", "W_in / downscale_factor", f"{w} / {r}", w // r)])


@register("ChannelShuffle", [("groups", REQUIRED)], family="reshape", category=Category.RESHAPE,
          functional=("channel_shuffle",))
def channel_shuffle(c: Call):
    g = _factor(c, "groups")
    if len(c.input) < 3:
        c.fail(f"needs an input with more than 2 dimensions (N, C, *), got {len(c.input)}D input of "
               f"shape {fmt_shape(c.input)}", argument="input")
    ch = c.input[1]
    if ch % g:
        c.fail(f"input channels {ch} are not divisible by groups {g}", argument="groups",
               fix=f"groups that divide {ch}")
    return c.result(c.input)


def _block_args(c: Call):
    """kernel_size, dilation, padding, stride of Fold/Unfold: an int or exactly 2 ints."""
    vals = {}
    for name in ("kernel_size", "dilation", "padding", "stride"):
        vals[name] = c.tuple_arg(name, 2)
    k, d, p, s = vals["kernel_size"], vals["dilation"], vals["padding"], vals["stride"]
    for name, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if any(x <= 0 for x in v):
            c.fail(f"{name} must be positive, got {show(v)}", argument=name)
    if any(x < 0 for x in p):
        c.fail(f"padding must be non-negative, got {show(p)}", argument="padding")
    return k, d, p, s


def _block_input(c: Call, batched: int, layout: str) -> tuple[int, ...]:
    """Unfold's and Fold's input: ``batched`` dims, or one fewer (unbatched); only N may be 0."""
    shape = c.input
    c.batched_rank(batched - 2, layout=layout)
    if 0 in (shape[1:] if len(shape) == batched else shape):
        c.fail(f"input {fmt_shape(shape)} has an empty dimension; only the batch may be empty",
               argument="input")
    return shape


def _blocks(size, k, d, p, s):
    return [conv_out(size[i], 2 * p[i], k[i], s[i], d[i]) for i in range(2)]


def _block_formulas(size, k, d, p, s, blocks):
    return [DimFormula(f"blocks_{ax}", f"floor(({ax} + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1",
                       f"floor(({size[i]} + 2*{p[i]} - {d[i]}*({k[i]}-1) - 1) / {s[i]}) + 1", blocks[i])
            for i, ax in enumerate(("H", "W"))]


@register("Unfold", [("kernel_size", REQUIRED), ("dilation", 1), ("padding", 0), ("stride", 1)],
          family="reshape", category=Category.RESHAPE)
def unfold(c: Call):
    k, d, p, s = _block_args(c)
    shape = _block_input(c, 4, "(N, C, H, W)")
    *lead, ch, h, w = shape
    blocks = _blocks((h, w), k, d, p, s)
    if min(blocks) < 1:
        c.fail(f"kernel_size {show(k)} (dilation {show(d)}) does not fit the padded input "
               f"({h} + 2*{p[0]}, {w} + 2*{p[1]}): {blocks[0]} x {blocks[1]} blocks",
               argument="kernel_size", fix="a smaller kernel_size or more padding")
    out = tuple(lead) + (ch * prod(k), prod(blocks))
    formulas = _block_formulas((h, w), k, d, p, s, blocks)
    formulas.append(DimFormula("C", "C * prod(kernel_size)", f"{ch} * {k[0]}*{k[1]}", ch * prod(k)))
    formulas.append(DimFormula("L", "blocks_H * blocks_W", f"{blocks[0]} * {blocks[1]}", prod(blocks)))
    return c.result(out, formulas=formulas, rf_mode=RFMode.UNKNOWN)


@register("Fold", [("output_size", REQUIRED), ("kernel_size", REQUIRED), ("dilation", 1), ("padding", 0),
                   ("stride", 1)], family="reshape", category=Category.RESHAPE)
def fold(c: Call):
    osize = c.tuple_arg("output_size", 2)
    k, d, p, s = _block_args(c)
    if min(osize) < 1:
        c.fail(f"output_size must be positive, got {show(osize)}", argument="output_size")
    shape = _block_input(c, 3, "(N, C*prod(kernel_size), L)")
    *lead, ck, length = shape
    kk = prod(k)
    if ck % kk:
        c.fail(f"input dimension {len(lead)} ({ck}) must be divisible by prod(kernel_size) = "
               f"{k[0]}*{k[1]} = {kk}", argument="kernel_size")
    blocks = _blocks(osize, k, d, p, s)
    if min(blocks) < 1 or prod(blocks) != length:
        c.fail(f"output_size {show(osize)} with kernel_size {show(k)}, dilation {show(d)}, padding "
               f"{show(p)}, stride {show(s)} gives {blocks[0]} x {blocks[1]} = {blocks[0] * blocks[1]} "
               f"sliding blocks, but the input's last dimension (L) is {length}",
               argument="output_size")
    out = tuple(lead) + (ck // kk, osize[0], osize[1])
    formulas = _block_formulas(osize, k, d, p, s, blocks)
    formulas.append(DimFormula("C", "C_in / prod(kernel_size)", f"{ck} / {kk}", ck // kk))
    return c.result(out, formulas=formulas, rf_mode=RFMode.UNKNOWN)
