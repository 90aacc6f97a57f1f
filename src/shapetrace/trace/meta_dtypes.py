"""The CPU's dtype agreement checks that torch's meta kernels skip.

A float64 input into a float32 model (``torch.from_numpy`` gives float64) is refused by
the CPU: "expected m1 and m2 to have the same dtype" (matmul, ``F.linear``), "expected
scalar type Double but found Float" (convolutions), "mixed dtype (CPU): all inputs must
share same datatype" (the norms). torch's meta kernels (torch/_meta_registrations.py,
torch/_refs) compute a result dtype instead and accept the call, so a meta trace (the
default) reported such a model as fine. A meta trace stands for a CPU run, so before a
call of these functions runs on meta, ``check`` raises where the CPU kernel would:

* matrix products and convolutions: every tensor argument has one dtype;
* layer, group, batch and instance norm: the input and its weights share one dtype, or
  the input is float16/bfloat16 and every weight float32 (the CPU's mixed-type path).

Both rules are checked against the CPU kernels on a grid of dtypes in
tests/trace/test_meta_dtypes.py. Inside ``torch.autocast("cpu")`` nothing is checked: the
CPU casts these ops' arguments to one dtype before its kernel runs. Only dtypes are checked here: shapes are the core's and
torch's job, as before.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .ops import resolve

Tensor = torch.Tensor

_PRODUCTS = ("matmul", "mm", "bmm", "mv", "dot", "addmm", "addmv", "baddbmm", "addbmm")
_CONVS = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
_SAME_DTYPE: frozenset = frozenset(
    resolve(torch, _PRODUCTS + _CONVS) + resolve(Tensor, _PRODUCTS + ("__matmul__", "__rmatmul__"))
    + resolve(F, ("linear", "bilinear") + _CONVS))
_CONV_FUNCS: frozenset = frozenset(resolve(torch, _CONVS) + resolve(F, _CONVS))
_NORMS: frozenset = frozenset(resolve(F, ("layer_norm", "group_norm", "batch_norm", "instance_norm"))
                              + resolve(torch, ("layer_norm", "group_norm", "batch_norm", "instance_norm")))
_REDUCED = (torch.float16, torch.bfloat16)

FUNCS: frozenset = _SAME_DTYPE | _NORMS

# the names the CPU's messages print: caffe2's type names (matmul), c10's scalar types (conv)
_NAMES = {torch.float64: "double", torch.float32: "float", torch.float16: "c10::Half",
          torch.bfloat16: "c10::BFloat16", torch.int64: "long int", torch.int32: "int"}
_SCALAR_TYPES = {torch.float64: "Double", torch.float32: "Float", torch.float16: "Half",
                 torch.bfloat16: "BFloat16", torch.int64: "Long", torch.int32: "Int"}


def _name(d: torch.dtype, names: dict = _NAMES) -> str:
    return names.get(d, str(d).removeprefix("torch."))


def _tensors(args: tuple, kwargs: dict) -> list[Tensor]:
    return [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]


def check(func: Any, args: tuple, kwargs: dict) -> None:
    """Raise RuntimeError where the CPU kernel of ``func`` refuses these arguments' dtypes."""
    ts = _tensors(args, kwargs)
    if len(ts) < 2 or torch.is_autocast_enabled("cpu"):
        return  # under CPU autocast the CPU casts these ops' arguments to one dtype first
    first = ts[0].dtype
    other = next((t.dtype for t in ts[1:] if t.dtype != first), None)
    if other is None:
        return
    if func in _NORMS:
        if first in _REDUCED and all(t.dtype == torch.float32 for t in ts[1:]):
            return  # the CPU norms' mixed-type path: half input, float32 weights
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    if func in _CONV_FUNCS:
        raise RuntimeError(f"expected scalar type {_name(first, _SCALAR_TYPES)} but found "
                           f"{_name(other, _SCALAR_TYPES)}")
    raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_name(first)} != {_name(other)}")
