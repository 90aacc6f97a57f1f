"""What the tracer knows about torch functions: which to record, their names, their cost
(multiply-accumulates) and how they move the receptive field.

Everything here is keyed by the function object itself (``torch.relu``,
``torch.Tensor.view``, ``F.conv2d`` ...), never by a name pattern. A function in no
table is still recorded (when it takes and returns tensors), with cost unknown, so
the totals say "partial" instead of silently counting 0.

MACs convention (as torchinfo, fvcore and ptflops count them): one multiply-accumulate
per weight use in convolutions, linear layers, matrix products and attention;
elementwise, reduction and reshaping ops count 0.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn


Tensor = torch.Tensor


class RFRule(str, Enum):
    """How an op moves the receptive field of its tensor inputs."""

    KEEP = "keep"  # elementwise: the union of the inputs' fields
    CAT = "cat"  # concatenation: the union along the channel dim, lost along a spatial dim
    LOSE = "lose"  # anything else: the output is not one window of the input any more


def resolve(owner: Any, names: Iterable[str]) -> list[Any]:
    out = []
    for n in names:
        f = getattr(owner, n, None)
        if f is not None:
            out.append(f)
    return out


# --------------------------------------------------------------------------- calls not recorded

# Metadata and conversions: they neither change a shape nor combine tensors. The
# tracer passes the receptive field of the input on to their output.
_PASSTHROUGH_TENSOR = (
    "detach", "clone", "contiguous", "to", "type", "type_as", "float", "double", "half", "bfloat16",
    "int", "long", "short", "bool", "byte", "char",
    "cpu", "cuda", "requires_grad_", "retain_grad", "pin_memory", "share_memory_", "coalesce",
    "detach_", "as_subclass", "__deepcopy__", "__reduce_ex__",
)
PASSTHROUGH: frozenset = frozenset(
    resolve(Tensor, _PASSTHROUGH_TENSOR) + resolve(torch, ("clone", "detach")))

# Calls that return no tensor worth a row (sizes, flags, Python conversions).
_SKIP_TENSOR = (
    "size", "dim", "ndimension", "numel", "nelement", "stride", "storage_offset", "is_contiguous",
    "data_ptr", "element_size", "__len__", "__bool__", "__int__", "__float__", "__index__",
    "__format__", "__repr__", "__str__", "__hash__", "__iter__", "__contains__", "item", "tolist",
    "numpy", "untyped_storage", "storage", "_is_view", "is_floating_point", "is_complex",
    "has_names", "get_device", "__array__", "__setstate__", "__setitem__", "dim_order",
)
SKIP: frozenset = frozenset(resolve(Tensor, _SKIP_TENSOR) + resolve(torch, (
    "is_tensor", "numel", "is_floating_point", "is_complex", "is_nonzero", "result_type",
    "broadcast_shapes", "can_cast", "promote_types")))


def is_skipped(func: Any) -> bool:
    # Property reads (``x.shape``, ``x.dtype``) arrive as the descriptor's ``__get__``.
    return func in SKIP or getattr(func, "__name__", "") in ("__get__", "__set__")


# --------------------------------------------------------------------------- names

_DUNDER = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub", "__rsub__": "rsub",
    "__isub__": "sub_", "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul_",
    "__truediv__": "div", "__rtruediv__": "rdiv", "__itruediv__": "div_", "__floordiv__": "floor_divide",
    "__matmul__": "matmul", "__rmatmul__": "matmul", "__getitem__": "getitem", "__neg__": "neg",
    "__pow__": "pow", "__rpow__": "pow", "__and__": "and", "__or__": "or", "__xor__": "xor",
    "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge", "__eq__": "eq", "__ne__": "ne",
    "__invert__": "invert", "__abs__": "abs", "__mod__": "remainder",
}


def op_kind(func: Any) -> str:
    """``torch.relu`` -> "relu", ``Tensor.__iadd__`` -> "add_", ``F.conv2d`` -> "conv2d"."""
    name = getattr(func, "__name__", None) or type(func).__name__
    return _DUNDER.get(name, name)


# --------------------------------------------------------------------------- elementwise / zero cost

_ELEMENTWISE_TORCH = (
    "relu", "relu_", "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt", "abs", "neg", "clamp", "clip",
    "add", "sub", "mul", "div", "true_divide", "pow", "maximum", "minimum", "where", "dropout",
    "sin", "cos", "erf", "square", "reciprocal", "sign", "floor", "ceil", "round", "lerp", "addcmul",
    "addcdiv", "masked_fill", "batch_norm", "instance_norm", "group_norm",
    "nan_to_num", "logical_not", "heaviside", "hardshrink", "selu", "celu", "rrelu", "prelu",
    "threshold", "alpha_dropout", "feature_dropout",
)
_ELEMENTWISE_TENSOR = _ELEMENTWISE_TORCH + (
    "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__", "__rmul__",
    "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__neg__", "__pow__", "__rpow__",
    "__abs__", "add_", "sub_", "mul_", "div_", "clamp_", "sigmoid_", "tanh_", "exp_", "sqrt_",
    "masked_fill_", "fill_", "zero_", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__",
    "__and__", "__or__", "__xor__", "__invert__", "float_power", "clamp_min", "clamp_max",
    "lt", "le", "gt", "ge", "eq", "ne",
)
_ELEMENTWISE_F = (
    "relu", "relu_", "relu6", "elu", "elu_", "selu", "celu", "gelu", "silu", "mish", "hardswish",
    "hardsigmoid", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "logsigmoid", "softplus",
    "softsign", "softshrink", "tanhshrink", "sigmoid", "tanh", "threshold", "glu", "prelu", "rrelu",
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "batch_norm", "instance_norm", "group_norm", "local_response_norm",
)
ELEMENTWISE: frozenset = frozenset(
    resolve(torch, _ELEMENTWISE_TORCH) + resolve(Tensor, _ELEMENTWISE_TENSOR) + resolve(F, _ELEMENTWISE_F))

# Ops that reshape, select, reduce or join without multiply-accumulates.
_ZERO_TORCH = (
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "flatten", "reshape", "permute",
    "transpose", "swapaxes", "squeeze", "unsqueeze", "split", "chunk", "unbind", "narrow",
    "select", "index_select", "gather", "take_along_dim", "roll", "flip", "tile", "repeat_interleave",
    "movedim", "moveaxis", "t", "mean", "sum", "max", "min", "amax", "amin", "argmax", "argmin",
    "var", "std", "norm", "cumsum", "sort", "topk", "tril", "triu", "zeros_like", "ones_like",
    "empty_like", "full_like", "rand_like", "randn_like", "layer_norm", "logsumexp", "prod",
    "any", "all", "isfinite", "isnan", "masked_select", "one_hot", "embedding", "diag", "diagonal",
    "broadcast_to", "expand_copy", "unflatten", "softmax", "log_softmax",
)
_ZERO_TENSOR = _ZERO_TORCH + (
    "view", "view_as", "expand", "expand_as", "repeat", "__getitem__", "unfold", "mT", "T",
    "flatten", "contiguous", "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor",
    "squeeze_", "unsqueeze_", "transpose_", "t_", "index_fill", "index_copy", "scatter", "scatter_",
    "scatter_add", "scatter_add_", "masked_scatter", "copy_",
)
_ZERO_F = (
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d", "pad", "interpolate",
    "upsample", "pixel_shuffle", "pixel_unshuffle", "embedding", "layer_norm", "rms_norm",
    "one_hot", "unfold", "fold", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "smooth_l1_loss",
    "softmax", "log_softmax", "softmin", "normalize",
)
ZERO_COST: frozenset = ELEMENTWISE | frozenset(
    resolve(torch, _ZERO_TORCH) + resolve(Tensor, _ZERO_TENSOR) + resolve(F, _ZERO_F))

CONCAT: frozenset = frozenset(resolve(torch, ("cat", "concat", "concatenate")))
VIEWLIKE: frozenset = frozenset(resolve(Tensor, ("view", "reshape")) + resolve(torch, ("reshape",)))


def rf_rule(func: Any) -> RFRule:
    if func in ELEMENTWISE:
        return RFRule.KEEP
    if func in CONCAT:
        return RFRule.CAT
    return RFRule.LOSE


def cat_dim(args: tuple, kwargs: dict) -> int:
    if "dim" in kwargs:
        return int(kwargs["dim"])
    if len(args) > 1 and isinstance(args[1], int):
        return args[1]
    return 0


def view_request(args: tuple, kwargs: dict) -> tuple[int, ...] | None:
    """The size asked of ``x.view(...)``/``x.reshape(...)``/``torch.reshape(x, ...)``."""
    rest = list(args[1:])
    if not rest:
        rest = [kwargs.get("shape", kwargs.get("size"))]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list, torch.Size)):
        rest = list(rest[0])
    if rest and all(isinstance(d, int) and not isinstance(d, bool) for d in rest):
        return tuple(rest)
    return None


# --------------------------------------------------------------------------- MACs of ops


def _numel(t: Tensor) -> int:
    return math.prod(t.shape)


def _contract_last(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    """matmul-like: every output element is a dot product over the first operand's last dim."""
    a = args[0] if args else None
    if not isinstance(a, Tensor) or not out:
        return None
    return _numel(out[0]) * (a.shape[-1] if a.dim() >= 1 else 1)


def _contract_addmm(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    # addmm(input, mat1, mat2): the product is mat1 @ mat2
    if len(args) < 3 or not isinstance(args[1], Tensor) or not out:
        return None
    return _numel(out[0]) * args[1].shape[-1]


def _linear(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    w = args[1] if len(args) > 1 else kwargs.get("weight")
    if not isinstance(w, Tensor) or not out:
        return None
    return _numel(out[0]) * (w.shape[-1] if w.dim() >= 1 else 1)


def _conv(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    # weight (C_out, C_in/groups, *k): each output element sums C_in/groups * prod(k) products.
    w = args[1] if len(args) > 1 else kwargs.get("weight")
    if not isinstance(w, Tensor) or not out:
        return None
    return _numel(out[0]) * math.prod(w.shape[1:])


def _conv_transpose(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    # weight (C_in, C_out/groups, *k): each input element is scattered into C_out/groups * prod(k).
    x = args[0] if args else None
    w = args[1] if len(args) > 1 else kwargs.get("weight")
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        return None
    return _numel(x) * math.prod(w.shape[1:])


def _sdpa(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    # q (..., L, E), k (..., S, E), v (..., S, Ev): Q K^T is L*S*E, (softmax) V is L*S*Ev.
    q, k, v = (list(args) + [kwargs.get("query"), kwargs.get("key"), kwargs.get("value")])[:3]
    if not all(isinstance(t, Tensor) for t in (q, k, v)):
        return None
    batch = math.prod(q.shape[:-2])
    return batch * q.shape[-2] * k.shape[-2] * (q.shape[-1] + v.shape[-1])


def _bilinear(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    w = args[2] if len(args) > 2 else kwargs.get("weight")
    if not isinstance(w, Tensor) or not out:
        return None
    return _numel(out[0]) * w.shape[1] * w.shape[2]


def _grouped_mm(args: tuple, kwargs: dict, out: list[Tensor]) -> int | None:
    """torch._grouped_mm: one matmul per group. Each output element is a dot product over
    the contraction dim K; when both operands are 2D, K itself is split into the groups
    (the output holds one (M, N) result per group, each over its share of K). Rows past
    ``offs[-1]`` are counted too (their number depends on values)."""
    a = args[0] if args else kwargs.get("input")
    b = args[1] if len(args) > 1 else kwargs.get("mat2")
    if not isinstance(a, Tensor) or not isinstance(b, Tensor) or not out:
        return None
    if a.dim() == 2 and b.dim() == 2:
        return _numel(out[0]) // max(out[0].shape[0], 1) * a.shape[1]
    return _numel(out[0]) * a.shape[-1]


_OP_MACS: dict[Any, Callable[[tuple, dict, list[Tensor]], int | None]] = {}
for _f in resolve(torch, ("matmul", "mm", "bmm", "mv", "dot", "inner", "vdot")) + resolve(
        Tensor, ("matmul", "mm", "bmm", "mv", "dot", "__matmul__", "__rmatmul__")):
    _OP_MACS[_f] = _contract_last
for _f in resolve(torch, ("addmm", "baddbmm", "addbmm", "addmv")) + resolve(Tensor, ("addmm", "baddbmm")):
    _OP_MACS[_f] = _contract_addmm
for _f in resolve(F, ("linear",)):
    _OP_MACS[_f] = _linear
for _f in resolve(F, ("bilinear",)):
    _OP_MACS[_f] = _bilinear
for _f in resolve(F, ("conv1d", "conv2d", "conv3d")) + resolve(torch, ("conv1d", "conv2d", "conv3d")):
    _OP_MACS[_f] = _conv
for _f in resolve(F, ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")):
    _OP_MACS[_f] = _conv_transpose
for _f in resolve(F, ("scaled_dot_product_attention",)):
    _OP_MACS[_f] = _sdpa
for _f in resolve(torch, ("_grouped_mm",)):
    _OP_MACS[_f] = _grouped_mm


def op_macs(func: Any, args: tuple, kwargs: dict, outs: list[Tensor]) -> int | None:
    """Multiply-accumulates of one functional call; None when not known."""
    rule = _OP_MACS.get(func)
    if rule is not None:
        try:
            return rule(args, kwargs, outs)
        except (IndexError, TypeError, ValueError):
            return None
    if func in ZERO_COST:
        return 0
    return None


# --------------------------------------------------------------------------- MACs of torch.nn modules
# the core has no rule for (recurrent layers, attention); used only when the layer has no
# rule in the core (a layer with a rule takes its MACs and receptive field from the rule).


def _rnn_macs(m: nn.RNNBase, ins: list[Tensor], outs: list[Tensor]) -> int | None:
    # Per step, layer and direction: gates x (input + hidden) weights.
    # https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html (the gate equations)
    if not ins:
        return None
    x = ins[0]
    gates = {"LSTM": 4, "GRU": 3}.get(m.mode, 1)
    if x.dim() == 3:
        steps, batch = (x.shape[1], x.shape[0]) if m.batch_first else (x.shape[0], x.shape[1])
    elif x.dim() == 2:
        steps, batch = x.shape[0], 1
    else:
        return None
    h_out = m.proj_size if getattr(m, "proj_size", 0) else m.hidden_size
    dirs = 2 if m.bidirectional else 1
    total = 0
    for layer in range(m.num_layers):
        in_size = m.input_size if layer == 0 else h_out * dirs
        per_dir = gates * m.hidden_size * (in_size + h_out)
        if getattr(m, "proj_size", 0):
            per_dir += m.hidden_size * m.proj_size
        total += per_dir * dirs
    return total * steps * batch


def _rnn_cell_macs(m: nn.RNNCellBase, ins: list[Tensor], outs: list[Tensor]) -> int | None:
    if not ins:
        return None
    gates = 4 if isinstance(m, nn.LSTMCell) else 3 if isinstance(m, nn.GRUCell) else 1
    batch = ins[0].shape[0] if ins[0].dim() == 2 else 1
    return batch * gates * m.hidden_size * (m.input_size + m.hidden_size)


def _mha_macs(m: nn.MultiheadAttention, ins: list[Tensor], outs: list[Tensor]) -> int | None:
    # in-projections of q, k, v; Q K^T and attn V over all heads; the out-projection.
    if len(ins) < 3:
        return None
    q, k, v = ins[:3]
    E = m.embed_dim

    def tokens(t: Tensor) -> int:
        return math.prod(t.shape[:-1])

    if q.dim() == 3:
        batch = q.shape[0] if m.batch_first else q.shape[1]
        L = q.shape[1] if m.batch_first else q.shape[0]
        S = k.shape[1] if m.batch_first else k.shape[0]
    else:
        batch, L, S = 1, q.shape[0], k.shape[0]
    proj = tokens(q) * E * E + tokens(k) * E * m.kdim + tokens(v) * E * m.vdim
    attn = batch * L * S * E * 2
    out = tokens(q) * E * E
    return proj + attn + out


_MODULE_MACS: list[tuple[type, Callable[[Any, list[Tensor], list[Tensor]], int | None]]] = [
    (nn.RNNBase, _rnn_macs),
    (nn.RNNCellBase, _rnn_cell_macs),
    (nn.MultiheadAttention, _mha_macs),
    # Lookups and sums: no multiply-accumulates (per_sample_weights would add one per looked-up value).
    (nn.EmbeddingBag, lambda m, ins, outs: 0),
]


def module_macs(module: nn.Module, base: type | None, ins: list[Tensor], outs: list[Tensor]) -> int | None:
    """MACs of a torch.nn leaf the core has no rule for; None when unknown."""
    if base is None:
        return None
    for cls, rule in _MODULE_MACS:
        if issubclass(base, cls):
            try:
                return rule(module, ins, outs)
            except (AttributeError, IndexError, TypeError):
                return None
    return None
