"""The CPU's shape checks of a convolution that torch's meta kernel skips.

On the CPU, ``F.conv2d`` and ``F.conv_transpose2d`` (aten/src/ATen/native/Convolution.cpp,
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
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..core.layers import weights
from ..core.shapes import fmt_shape
from .call_args import arg


class ShapeRefused(RuntimeError):
    """What ``check`` raises: a RuntimeError, as torch's own error is."""


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


def check(func: Any, args: tuple, kwargs: dict) -> None:
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
