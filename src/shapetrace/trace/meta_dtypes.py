"""The CPU's dtype checks that torch's meta kernels skip.

A float64 input into a float32 model (``torch.from_numpy`` gives float64) is refused by
the CPU: "expected m1 and m2 to have the same dtype" (matmul, ``F.linear``), "expected
scalar type Double but found Float" (convolutions), "mixed dtype (CPU): all inputs must
share same datatype" (the norms). torch's meta kernels (torch/_meta_registrations.py,
torch/_refs) compute a result dtype instead and accept the call, so a meta trace (the
default) reported such a model as fine; likewise int32 class labels into a loss, or a float
index. A meta trace stands for a CPU run, so before a call of these functions runs on
meta, ``check`` raises where the CPU kernel would (``DtypeRefused``, with the CPU's words):

* matrix products and convolutions: every tensor argument has one dtype;
* layer, group, batch and instance norm: the input and its weights share one dtype, or
  the input is float16/bfloat16 and every weight float32 (the CPU's mixed-type path);
* index ops: the index's dtype (int64, or int32 where the CPU takes it), and the source's
  dtype the same as the tensor written into;
* ``nll_loss``/``cross_entropy``: class labels int64 (or uint8), the input floating.

Every rule is checked against the CPU kernels on a grid of dtypes in
tests/trace/test_meta_dtypes.py. Inside ``torch.autocast("cpu")`` the first two are not
checked: the CPU casts those ops' arguments to one dtype before its kernel runs. Only
dtypes are checked here: shapes are the core's and torch's job, as before.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .call_args import arg, call_tensors
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

# the names the CPU's messages print: caffe2's type names (matmul), c10's scalar types (conv)
_NAMES = {torch.float64: "double", torch.float32: "float", torch.float16: "c10::Half",
          torch.bfloat16: "c10::BFloat16", torch.int64: "long int", torch.int32: "int"}
_SCALAR_TYPES = {torch.float64: "Double", torch.float32: "Float", torch.float16: "Half",
                 torch.bfloat16: "BFloat16", torch.int64: "Long", torch.int32: "Int"}


def _name(d: torch.dtype, names: dict = _NAMES) -> str:
    return names.get(d, str(d).removeprefix("torch."))


class DtypeRefused(RuntimeError):
    """What ``check`` raises: a RuntimeError, as torch's own error is."""


_LONG = (torch.int64,)
_INT = (torch.int64, torch.int32)
_INDICES = (torch.int64, torch.int32, torch.uint8, torch.bool)


def _index_rule(op: str, index: tuple, source: bool, message: str):
    """The CPU's rule of one index op ``op(self, dim, index[, source])``: the index of a
    dtype in ``index`` (``message`` otherwise), the source (when there is one) of self's."""
    def rule(args: tuple, kwargs: dict) -> None:
        x, idx = arg(args, kwargs, 0, "input"), arg(args, kwargs, 2, "index")
        if isinstance(idx, Tensor) and idx.dtype not in index:
            raise DtypeRefused(message.format(got=_name(idx.dtype, _SCALAR_TYPES)))
        src = arg(args, kwargs, 3, "source") if source else None
        if isinstance(x, Tensor) and isinstance(src, Tensor) and src.dtype != x.dtype:
            raise DtypeRefused(f"{op}(): self ({_name(x.dtype, _SCALAR_TYPES)}) and source "
                               f"({_name(src.dtype, _SCALAR_TYPES)}) must have the same scalar type")
    return rule


def _index_put(args: tuple, kwargs: dict) -> None:
    """``index_put(self, indices, values)``: integer indices or masks, values of self's dtype."""
    x, values = arg(args, kwargs, 0, "input"), arg(args, kwargs, 2, "values")
    for t in arg(args, kwargs, 1, "indices") or ():
        if isinstance(t, Tensor) and t.dtype not in _INDICES:
            raise DtypeRefused("tensors used as indices must be long, int, byte or bool tensors")
    if isinstance(x, Tensor) and isinstance(values, Tensor) and values.dtype != x.dtype:
        raise DtypeRefused(f"Index put requires the source and destination dtypes match, got "
                           f"{_name(x.dtype, _SCALAR_TYPES)} for the destination and "
                           f"{_name(values.dtype, _SCALAR_TYPES)} for the source.")


def _loss_rule(op: str):
    """``nll_loss`` and ``cross_entropy`` with class labels: int64 (or uint8) labels, a
    floating input (a floating target is class probabilities: torch's own checks)."""
    def rule(args: tuple, kwargs: dict) -> None:
        x, target = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "target")
        if not (isinstance(x, Tensor) and isinstance(target, Tensor)) or target.is_floating_point():
            return
        if target.dtype not in (torch.int64, torch.uint8):
            raise DtypeRefused(f"expected target dtype to be Long or Byte, but got "
                               f"{_name(target.dtype, _SCALAR_TYPES)}")
        if not x.is_floating_point():
            raise DtypeRefused(f'"{op}" not implemented for \'{_name(x.dtype, _SCALAR_TYPES)}\'')
    return rule


def _rules() -> dict[Any, Any]:
    table = {
        "index_select": _index_rule("index_select", _INT, False,
                                    "index_select(): Expected dtype int32 or int64 for index"),
        "index_add": _index_rule("index_add_", _INT, True, "index_add_(): Expected dtype int32/int64 for index"),
        "index_copy": _index_rule("index_copy_", _LONG, True,
                                  "index_copy_(): Expected a long tensor for index, but got {got}"),
        "index_fill": _index_rule("index_fill_", _LONG, False, "index_fill_(): Expected dtype int64 for index."),
        "index_put": _index_put,
    }
    out: dict[Any, Any] = {}
    for name, rule in table.items():
        for f in resolve(torch, (name,)) + resolve(Tensor, (name, name + "_")):
            out[f] = rule
    for name in ("nll_loss", "cross_entropy"):
        for f in resolve(F, (name,)):
            out[f] = _loss_rule(name)
    return out


_RULES: dict[Any, Any] = _rules()

# the functions whose tensors must agree with each other (a float64 input into float32 weights)
MIXING: frozenset = _SAME_DTYPE | _NORMS
FUNCS: frozenset = MIXING | frozenset(_RULES)


def check(func: Any, args: tuple, kwargs: dict) -> None:
    """Raise ``DtypeRefused`` where the CPU kernel of ``func`` refuses these arguments' dtypes."""
    rule = _RULES.get(func)
    if rule is not None:
        rule(args, kwargs)
        return
    ts = call_tensors(args, kwargs)
    if len(ts) < 2 or torch.is_autocast_enabled("cpu"):
        return  # under CPU autocast the CPU casts these ops' arguments to one dtype first
    first = ts[0].dtype
    other = next((t.dtype for t in ts[1:] if t.dtype != first), None)
    if other is None:
        return
    if func in _NORMS:
        if first in _REDUCED and all(t.dtype == torch.float32 for t in ts[1:]):
            return  # the CPU norms' mixed-type path: half input, float32 weights
        raise DtypeRefused("mixed dtype (CPU): all inputs must share same datatype.")
    if func in _CONV_FUNCS:
        raise DtypeRefused(f"expected scalar type {_name(first, _SCALAR_TYPES)} but found "
                           f"{_name(other, _SCALAR_TYPES)}")
    raise DtypeRefused(f"expected m1 and m2 to have the same dtype, but got: {_name(first)} != {_name(other)}")
