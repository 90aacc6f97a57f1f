"""The CPU's shape checks that torch's meta kernels skip.

Convolutions: on the CPU, ``F.conv2d`` and ``F.conv_transpose2d`` (aten/src/ATen/native/Convolution.cpp,
``check_shape_forward``) refuse a weight that does not split into its groups along dim 0,
a bias that is not one value per output channel, and, for a transposed convolution, an
input whose channels are not the weight's dim 0. torch's meta kernel for ``convolution``
(torch/_meta_registrations.py) computes the output shape without these checks, so a meta
trace took a model the CPU refuses: a functional call in the model's own code, or a layer
whose weights were replaced by hand (``adapters.layer_rule``, which has no rule for
weights no arguments make). A meta trace stands for a CPU run, so before such a call runs
on meta, ``check`` raises where the CPU would. The rule on the weight and bias is the
core's (``core.layers.weights.refused``, which ``sizes`` uses too); compared with the CPU on
a grid in tests/trace/test_meta_shapes.py.

The others, found by running common ops on random shapes on both devices: softmax,
log_softmax and softmin take a ``dim`` out of range on meta (the CPU wraps it as
``maybe_wrap_dim`` does and raises IndexError); ``addmm``/``addmv`` and ``F.linear``
broadcast the added tensor on meta where the CPU expands it to the product's shape
(``expand_size``: each of its sizes equal or 1), so a bias of 2 values into one output
feature gave a (N, 2) result; adaptive average pooling takes an empty spatial dimension
on meta (aten/src/ATen/native/AdaptiveAveragePooling.cpp refuses it; in 3-D every
dimension but the first); linear interpolation gives an output of size 0 (``after``, which
reads the kernel's result); ``sort``/``argsort`` take a ``dim`` out of range; ``index_add``
takes a source whose other dimensions differ from the tensor's; and
``F.scaled_dot_product_attention`` takes an ``attn_mask`` that does not expand to the
attention's (..., L, S) (a mask of another size: the CPU adds it in place; a 1-D mask where
the CPU picks its fused kernel, which wants two dimensions).
Each check raises the CPU's own words.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..core.layers import weights
from ..core.shapes import broadcast, dim_out_of_range, fmt_shape, mismatched_dims, padded, wrap_dim
from .call_args import arg
from .ops import resolve


# What the checks raise: torch's own exception types (a shape error is a RuntimeError, a
# dimension out of range an IndexError), so that every caller, and every message that
# names the type ("the training step failed on fake tensors: RuntimeError: ..."), reads
# them as the CPU's.
ShapeRefused = RuntimeError
DimRefused = IndexError


def _convs() -> dict[Any, tuple[str, int]]:
    out: dict[Any, tuple[str, int]] = {}
    for n in (1, 2, 3):
        for mod in (torch, F):
            out[getattr(mod, f"conv{n}d")] = (f"Conv{n}d", n)
            out[getattr(mod, f"conv_transpose{n}d")] = (f"ConvTranspose{n}d", n)
    return out


CONVS = _convs()


def refused(func: Any, args: tuple, kwargs: dict) -> str | None:
    """Why the CPU refuses this convolution's weight and bias whatever the input (the
    core's rule), or None. Both positional layouts put ``groups`` at 6: conv(input, weight,
    bias, stride, padding, dilation, groups), conv_transpose(input, weight, bias, stride,
    padding, output_padding, groups, dilation)."""
    layer, n = CONVS[func]
    w, b, g = arg(args, kwargs, 1, "weight"), arg(args, kwargs, 2, "bias"), arg(args, kwargs, 6, "groups", 1)
    if not isinstance(w, torch.Tensor) or w.dim() != n + 2:
        return None  # torch's own checks say what is wrong
    held = {"weight": tuple(w.shape), **({"bias": tuple(b.shape)} if isinstance(b, torch.Tensor) else {})}
    return weights.refused(layer, {"groups": g}, held)


def _conv_check(func: Any, args: tuple, kwargs: dict) -> None:
    """Raise ``ShapeRefused`` where the CPU's convolution refuses these shapes and the meta
    kernel would not."""
    why = refused(func, args, kwargs)
    if why is not None:
        raise ShapeRefused(why)  # the row names the call, as for torch's own errors
    layer, n = CONVS[func]
    x, w = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "weight")
    if (layer.startswith("ConvTranspose") and isinstance(x, torch.Tensor) and isinstance(w, torch.Tensor)
            and w.dim() == n + 2 and x.dim() in (n + 1, n + 2) and x.shape[-(n + 1)] != w.shape[0]):
        raise ShapeRefused(f"the weight of shape {fmt_shape(tuple(w.shape))} takes {w.shape[0]} input "
                           f"channel{'' if w.shape[0] == 1 else 's'}, but the input of shape "
                           f"{fmt_shape(tuple(x.shape))} has {x.shape[-(n + 1)]}")


def _dim_check(func: Any, args: tuple, kwargs: dict) -> None:
    x, dim = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "dim")
    if not isinstance(x, torch.Tensor) or isinstance(dim, bool) or not isinstance(dim, int):
        return  # dim=None (the implicit dim, with torch's warning) or a name: torch decides
    if wrap_dim(dim, x.dim()) is None:
        raise DimRefused(dim_out_of_range(dim, x.dim()))


_TYPE_NAMES = {torch.float32: "Float", torch.float64: "Double", torch.float16: "Half", torch.bfloat16: "BFloat16"}


def _expand_check(added: Any, target: tuple[int, ...]) -> None:
    """``added.expand(target)``, as the CPU's addmm/addmv/linear do with the added tensor."""
    if not isinstance(added, torch.Tensor):
        return
    have = tuple(added.shape)
    if len(have) > len(target):
        kind = _TYPE_NAMES.get(added.dtype, str(added.dtype).removeprefix("torch."))
        raise ShapeRefused(f"expand(torch.{kind}Tensor{{{list(have)}}}, size={list(target)}): the number of sizes "
                           f"provided ({len(target)}) must be greater or equal to the number of dimensions in "
                           f"the tensor ({len(have)})")
    for i in range(1, len(have) + 1):
        if have[-i] != target[-i] and have[-i] != 1:
            raise ShapeRefused(f"The expanded size of the tensor ({target[-i]}) must match the existing size "
                               f"({have[-i]}) at non-singleton dimension {len(target) - i}.  Target sizes: "
                               f"{list(target)}.  Tensor sizes: {list(have)}")


def _product_shape(a: Any, b: Any) -> tuple[int, ...] | None:
    """The shape of ``a @ b`` for addmm (2-D @ 2-D) and addmv (2-D @ 1-D), or None where the
    product itself is wrong (torch's own check says so)."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) or a.dim() != 2:
        return None
    if b.dim() == 2 and a.shape[1] == b.shape[0]:
        return (a.shape[0], b.shape[1])
    if b.dim() == 1 and a.shape[1] == b.shape[0]:
        return (a.shape[0],)
    return None


def _addmm_check(func: Any, args: tuple, kwargs: dict) -> None:
    a = arg(args, kwargs, 1, "mat1", arg(args, kwargs, 1, "mat"))
    b = arg(args, kwargs, 2, "mat2", arg(args, kwargs, 2, "vec"))
    added = arg(args, kwargs, 0, "input")
    target = _product_shape(a, b)
    if target is None:
        return
    if len(target) == 1 and isinstance(added, torch.Tensor) and added.dim() > 1:  # addmv
        raise ShapeRefused(f"vector + matrix @ vector expected, got {added.dim()}, {a.dim()}, {b.dim()}")
    _expand_check(added, target)


def _linear_check(func: Any, args: tuple, kwargs: dict) -> None:
    x, w, b = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "weight"), arg(args, kwargs, 2, "bias")
    # a 1-D bias only: the CPU's rule for others depends on how it flattens the input
    if (isinstance(x, torch.Tensor) and isinstance(w, torch.Tensor) and isinstance(b, torch.Tensor)
            and b.dim() == 1 and w.dim() == 2 and x.dim() >= 1 and x.shape[-1] == w.shape[1]):
        rows = 1
        for d in x.shape[:-1]:
            rows *= d
        _expand_check(b, (rows, w.shape[0]))  # the CPU's addmm on the input as a matrix


_ADAPTIVE = {F.adaptive_avg_pool1d: (1, "adaptive_avg_pool2d"), torch.adaptive_avg_pool1d: (1, "adaptive_avg_pool2d"),
             F.adaptive_avg_pool2d: (2, "adaptive_avg_pool2d"), F.adaptive_avg_pool3d: (3, "adaptive_avg_pool3d")}


def _adaptive_check(func: Any, args: tuple, kwargs: dict) -> None:
    n, name = _ADAPTIVE[func]
    x = arg(args, kwargs, 0, "input")
    if not isinstance(x, torch.Tensor) or x.dim() not in (n + 1, n + 2):
        return  # the rank is torch's own check
    size = arg(args, kwargs, 1, "output_size")
    sizes = (size,) * n if isinstance(size, int) else tuple(size) if isinstance(size, (tuple, list)) else None
    if sizes is None or len(sizes) != n:
        return  # torch's own checks
    if all(x.shape[-n + i] == 1 if s is None else s == 1 for i, s in enumerate(sizes)):
        return  # an output of 1s is a mean, which the CPU takes of anything
    shape = tuple(x.shape) if n > 1 else tuple(x.shape[:-1]) + (1, x.shape[-1])  # 1-D runs as 2-D
    first = len(shape) - 2 if n < 3 else 1  # the dimensions the CPU wants non-empty
    for i in range(first, len(shape)):
        if shape[i] == 0:
            raise ShapeRefused(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                               f"input has sizes {list(shape)} with dimension {i} being empty")


def _index_add_check(func: Any, args: tuple, kwargs: dict) -> None:
    x, dim, src = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "dim"), arg(args, kwargs, 3, "source")
    if not all(isinstance(t, torch.Tensor) for t in (x, src)) or not isinstance(dim, int) or isinstance(dim, bool):
        return
    if x.dim() == 0 or src.dim() == 0:
        return  # scalars: torch's own rules
    d = dim + x.dim() if dim < 0 else dim
    if src.dim() != x.dim() or any(a != b for i, (a, b) in enumerate(zip(x.shape, src.shape)) if i != d):
        raise ShapeRefused(f"source tensor shape must match self tensor shape, excluding the specified "
                           f"dimension. Got self.shape = {list(x.shape)} source.shape = {list(src.shape)}")


def _sdpa_check(func: Any, args: tuple, kwargs: dict) -> None:
    q, k, mask = arg(args, kwargs, 0, "query"), arg(args, kwargs, 1, "key"), arg(args, kwargs, 3, "attn_mask")
    if not all(isinstance(t, torch.Tensor) for t in (q, k, mask)) or q.dim() < 2 or q.dim() != k.dim():
        return
    flash = q.dim() == 4 and not arg(args, kwargs, 4, "dropout_p", 0.0) and not mask.requires_grad
    if mask.dim() < 2 and flash:  # the CPU's fused kernel reads its last two dimensions (its math
        raise DimRefused(dim_out_of_range(-2, mask.dim()))  # path, taken otherwise, broadcasts the mask)
    target = tuple(q.shape[:-1]) + (k.shape[-2],)  # the weights q @ k^T, to which the mask is added in place
    have = tuple(mask.shape)
    bad = mismatched_dims(target, have)
    if bad:  # torch names the last one
        t, m = (p[bad[-1]] for p in padded(target, have))
        raise ShapeRefused(f"The size of tensor a ({t}) must match the size of tensor b ({m}) at "
                           f"non-singleton dimension {bad[-1]}")
    grown = broadcast(target, have)
    if grown != target:
        raise ShapeRefused(f"output with shape {list(target)} doesn't match the broadcast shape {list(grown)}")


def _table() -> dict[Any, Callable[[Any, tuple, dict], None]]:
    out: dict[Any, Callable[[Any, tuple, dict], None]] = {f: _conv_check for f in CONVS}
    names = ("softmax", "log_softmax", "softmin", "sort", "argsort")
    out.update((f, _dim_check) for f in resolve(torch, names) + resolve(F, names) + resolve(torch.Tensor, names))
    out.update((f, _index_add_check) for f in resolve(torch, ("index_add",))
               + resolve(torch.Tensor, ("index_add", "index_add_")))
    out[F.scaled_dot_product_attention] = _sdpa_check
    out.update((f, _addmm_check) for f in resolve(torch, ("addmm", "addmv"))
               + resolve(torch.Tensor, ("addmm", "addmv", "addmm_", "addmv_")))
    out[F.linear] = _linear_check
    out.update((f, _adaptive_check) for f in _ADAPTIVE)
    return out


CHECKS = _table()


_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
_AXES = {1: "W", 2: "HW", 3: "DHW"}


def _interpolate_after(args: tuple, kwargs: dict, out: Any) -> None:
    """F.interpolate's linear modes: the CPU wants every input and output size above 0 and
    a non-empty channel dimension (aten/src/ATen/native/UpSample.h,
    ``upsample_2d_common_check``); the meta kernel gives the sizes without checking them."""
    x, mode = arg(args, kwargs, 0, "input"), arg(args, kwargs, 3, "mode", "nearest")
    if mode not in _INTERPOLATING or not isinstance(x, torch.Tensor) or not isinstance(out, torch.Tensor):
        return
    n = x.dim() - 2
    if n not in _AXES or out.dim() != x.dim():
        return
    ins, outs = tuple(x.shape[2:]), tuple(out.shape[2:])
    if min(ins + outs) <= 0:
        def sizes(v: tuple[int, ...]) -> str:
            return ", ".join(f"{a}: {d}" for a, d in zip(_AXES[n], v))
        joint = " and " if n == 1 else " "
        raise ShapeRefused(f"Input and output sizes should be greater than 0, but got input ({sizes(ins)}){joint}"
                           f"output ({sizes(outs)})")
    if not x.shape[1]:
        raise ShapeRefused(f"Non-empty {x.dim()}D data tensor expected but got a tensor with sizes {list(x.shape)}")


AFTER = {F.interpolate: _interpolate_after}


def after(func: Any, args: tuple, kwargs: dict, out: Any) -> None:
    """Raise where the CPU refuses the result torch's meta kernel computed (its sizes)."""
    AFTER[func](args, kwargs, out)


def check(func: Any, args: tuple, kwargs: dict) -> None:
    """Raise where the CPU refuses this call's shapes and torch's meta kernel would not."""
    CHECKS[func](func, args, kwargs)
