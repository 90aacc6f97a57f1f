"""Short cuts on the meta device: a traced call's result without torch's Python meta kernels.

Two kinds, both used by the recorder only while ``fast`` is on (a meta trace):
``SHORT_CUT`` for torch.nn layers whose output shape the core's rule already gave
(``install_short_cut`` puts it on a module for the trace), and ``meta_fast`` for
elementwise ops and ``torch.cat``. Each returns NotImplemented (or None)
for anything but the plain case, and torch's kernel runs as usual. Split from
``trace/ops.py`` (what the tracer knows about torch functions), whose tables it reads.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..core import shapes
from . import adapters
from .ops import CONCAT, resolve, cat_dim

Tensor = torch.Tensor

# On the meta device torch computes an output's shape with Python meta kernels, which cost
# more than the rest of a trace for big models (a 13B decoder: half the time in Linear,
# LayerNorm and GELU). For these layers the core's rule (checked against torch on CPU by
# tests/core) already gave the output shape, so the tracer returns an empty meta tensor of
# that shape instead of running the kernel. Each rule says the output dtype, or None when
# the call is not the plain case (then torch's kernel runs as usual).


def _float_same_as_weight(m: nn.Module, x: Tensor) -> torch.dtype | None:
    w = getattr(m, "weight", None)
    if not x.is_floating_point() or (w is not None and w.dtype != x.dtype):
        return None  # torch raises on mixed dtypes: let its kernel do it
    return x.dtype


def _indices(m: nn.Module, x: Tensor) -> torch.dtype | None:
    if not x.is_meta:
        return None  # token ids with values: F.embedding checks their range (meta_values)
    return m.weight.dtype if x.dtype in (torch.int64, torch.int32) else None


SAME = "same"  # the layer returns its input tensor itself


def _elementwise(m: nn.Module, x: Tensor):
    if not x.is_floating_point():
        return None
    return SAME if getattr(m, "inplace", False) is True else x.dtype


def _dropout(m: nn.Module, x: Tensor):
    if not x.is_floating_point():
        return None
    return SAME if not m.training or m.inplace else x.dtype  # eval: F.dropout returns the input


def _identity(m: nn.Module, x: Tensor):
    return SAME


def _batchnorm(m: nn.Module, x: Tensor):
    if m.training:
        return None  # training checks the batch (more than 1 value per channel): torch's own code
    return _float_same_as_weight(m, x)


def _pool(m: nn.Module, x: Tensor):
    if not x.is_floating_point() or getattr(m, "return_indices", False):
        return None  # two outputs: torch's kernel
    return x.dtype


def _short_cut_rules() -> dict[type, Callable[[nn.Module, Tensor], torch.dtype | None]]:
    rules: dict[type, Callable[[nn.Module, Tensor], Any]] = {
        nn.Linear: _float_same_as_weight, nn.LayerNorm: _float_same_as_weight, nn.Embedding: _indices,
        nn.Dropout: _dropout, nn.Identity: _identity}
    for name in ("ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "Mish", "Hardswish", "LeakyReLU", "ELU"):
        cls = getattr(nn, name, None)
        if cls is not None:
            rules[cls] = _elementwise
    for d in (1, 2, 3):
        for name, rule in ((f"Conv{d}d", _float_same_as_weight), (f"BatchNorm{d}d", _batchnorm),
                           (f"MaxPool{d}d", _pool), (f"AvgPool{d}d", _pool), (f"AdaptiveAvgPool{d}d", _pool),
                           (f"AdaptiveMaxPool{d}d", _pool)):
            cls = getattr(nn, name, None)
            if cls is not None:
                rules[cls] = rule
    rules[nn.GroupNorm] = _float_same_as_weight
    return rules


SHORT_CUT: dict[type, Callable[[nn.Module, Tensor], Any]] = _short_cut_rules()


Hooks = tuple[Callable[..., None], Callable[..., None]]


def no_hooks(module: nn.Module) -> bool:
    """Whether ``module(x)`` takes torch's fast path, which calls ``forward`` from
    ``Module._call_impl`` itself (torch/nn/modules/module.py): no hooks of its own, none global."""
    g = nn.modules.module
    return not (module._forward_pre_hooks or module._forward_hooks or module._backward_hooks
                or module._backward_pre_hooks or g._global_forward_pre_hooks or g._global_forward_hooks
                or g._global_backward_hooks or g._global_backward_pre_hooks)


def install_short_cut(module: nn.Module, current: Callable[[], Any], hooks: Hooks | None = None) -> bool:
    """On meta, let a plain layer call return an empty tensor of the shape the core
    computed instead of running torch's (slow, Python) meta kernel. Installed as an
    instance ``forward``; the caller removes it after the trace (``del module.forward``).
    ``current()`` is the recorder's module call in progress (its ``module`` and the core's
    ``result``, set by the pre-hook). ``hooks``: the recorder's (pre, post) hook, called
    around the call by this forward instead of by torch, only for a module with ``no_hooks``
    (torch's hook machinery costs about 1.6 µs a call, registering and removing a hook pair
    3 µs a module), and only when torch's ``_call_impl`` calls it, as it would call hooks.
    Returns whether it was installed."""
    base = adapters.nn_base(type(module))
    rule = SHORT_CUT.get(base) if base is not None else None
    if rule is None or "forward" in vars(module):
        return False
    original = module.forward

    def fast(args: tuple, kwargs: dict) -> Any:
        frame = current()
        if (frame is not None and frame.module is module and frame.result is not None and not kwargs
                and len(args) == 1 and isinstance(args[0], Tensor) and args[0].is_contiguous()):
            dtype = rule(module, args[0])
            if dtype is SAME:
                return args[0]  # ReLU(inplace=True), Dropout in eval, Identity
            if dtype is not None:
                return torch.empty(frame.result.output_shape, dtype=dtype, device="meta")
        return None

    if hooks is None:
        def forward(*args: Any, **kwargs: Any) -> Any:
            # its own tensor calls are not the model's: torch-function handling off
            with torch._C.DisableTorchFunction():
                out = fast(args, kwargs)
            return original(*args, **kwargs) if out is None else out
    else:
        pre, post = hooks
        call_impl = nn.Module._call_impl.__code__  # what calls forward for module(x) with no hooks

        def forward(*args: Any, **kwargs: Any) -> Any:
            if sys._getframe(1).f_code is not call_impl:
                return original(*args, **kwargs)  # ``module.forward(x)``: torch would run no hooks
            pre(module, args, kwargs)
            with torch._C.DisableTorchFunction():
                out = fast(args, kwargs)
            if out is None:
                out = original(*args, **kwargs)
            post(module, args, kwargs, out)
            return out

    vars(module)["forward"] = forward  # what Module.__setattr__ does with a function, without its checks
    return True


# Elementwise ops and torch.cat on meta tensors: torch runs them through Python reference
# kernels (torch._refs), and the first one in a process imports torch._dynamo (1.5-3.5 s
# here). Their output shape and dtype are simple: broadcasting (https://pytorch.org/docs/
# stable/notes/broadcasting.html) and type promotion (torch.result_type), so the tracer
# computes them itself and raises torch's own message where torch would raise. Anything
# unusual (non-contiguous inputs, out=, tensors off the meta device) goes to torch.

_ADDLIKE = ("add", "sub", "mul")
_BIN_OUT = frozenset(resolve(torch, _ADDLIKE) + resolve(Tensor, _ADDLIKE + (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__")))
_REFLECTED = frozenset(resolve(Tensor, ("__rsub__",)))  # computes other - self
_SUBS = frozenset(resolve(torch, ("sub",)) + resolve(Tensor, ("sub", "sub_", "__sub__", "__rsub__", "__isub__")))
_BIN_INPLACE = frozenset(resolve(Tensor, ("add_", "sub_", "mul_", "__iadd__", "__isub__", "__imul__")))
_UNARY_OUT = frozenset(resolve(torch, ("relu", "sigmoid", "tanh")) + resolve(Tensor, ("relu", "sigmoid", "tanh"))
                       + resolve(F, ("gelu", "sigmoid", "tanh")))
_UNARY_INPLACE = frozenset(resolve(torch, ("relu_",)) + resolve(Tensor, ("relu_", "sigmoid_", "tanh_"))
                           + resolve(F, ("relu_",)))
# F.* activations with an ``inplace`` argument, and its position.
_UNARY_F_INPLACE_ARG: dict[Any, int] = {f: i for f, i in (
    (getattr(F, "relu", None), 1), (getattr(F, "relu6", None), 1), (getattr(F, "silu", None), 1),
    (getattr(F, "mish", None), 1), (getattr(F, "hardswish", None), 1), (getattr(F, "leaky_relu", None), 2),
    (getattr(F, "elu", None), 2)) if f is not None}

META_FAST: frozenset = _BIN_OUT | _BIN_INPLACE | _UNARY_OUT | _UNARY_INPLACE | frozenset(_UNARY_F_INPLACE_ARG) | CONCAT


def _plain_meta(t: Tensor) -> bool:
    """A plain (not a subclass) contiguous meta tensor."""
    return type(t) in (Tensor, nn.Parameter) and t.device.type == "meta" and t.is_contiguous()


def broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """torch's infer_size (``core.shapes.broadcast``), with torch's error message: it names
    the last dim that does not broadcast (infer_size walks from the right)."""
    out = shapes.broadcast(a, b)
    if out is None:
        i = shapes.mismatched_dims(a, b)[-1]
        pa, pb = shapes.padded(a, b)
        raise RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) "
                           f"at non-singleton dimension {i}")
    return out


def meta_fast(func: Any, args: tuple, kwargs: dict) -> Any:
    """The result of ``func(*args, **kwargs)`` on meta tensors without torch's Python kernels,
    or NotImplemented when the call is not the plain case."""
    if "out" in kwargs:
        return NotImplemented
    if func in CONCAT:
        return _cat(args, kwargs)
    a = args[0] if args else kwargs.get("input")
    if not isinstance(a, Tensor) or not _plain_meta(a):
        return NotImplemented
    if func in _BIN_OUT or func in _BIN_INPLACE:
        b = args[1] if len(args) > 1 else kwargs.get("other")
        if isinstance(b, Tensor):
            if not _plain_meta(b):
                return NotImplemented
            shape = broadcast(tuple(b.shape), tuple(a.shape)) if func in _REFLECTED else \
                broadcast(tuple(a.shape), tuple(b.shape))
        elif isinstance(b, (bool, int, float)):
            shape = tuple(a.shape)
        else:
            return NotImplemented
        if func in _SUBS and (a.dtype == torch.bool or isinstance(b, bool)
                              or (isinstance(b, Tensor) and b.dtype == torch.bool)):
            return NotImplemented  # torch refuses to subtract bools, in its own words
        dtype = torch.result_type(a, b)
        if func in _BIN_INPLACE:
            if shape != tuple(a.shape):
                raise RuntimeError(f"output with shape {list(a.shape)} doesn't match the broadcast shape "
                                   f"{list(shape)}")
            if not torch.can_cast(dtype, a.dtype):
                return NotImplemented
            return a
        return torch.empty(shape, dtype=dtype, device="meta")
    if not a.is_floating_point():
        return NotImplemented
    if func in _UNARY_INPLACE:
        return a
    pos = _UNARY_F_INPLACE_ARG.get(func)
    if pos is not None:
        inplace = kwargs.get("inplace", args[pos] if len(args) > pos else False)
        return a if inplace else torch.empty(a.shape, dtype=a.dtype, device="meta")
    if func in _UNARY_OUT:
        return torch.empty(a.shape, dtype=a.dtype, device="meta")
    return NotImplemented


def _cat(args: tuple, kwargs: dict) -> Any:
    ts = args[0] if args else kwargs.get("tensors")
    if not isinstance(ts, (list, tuple)) or not ts or not all(isinstance(t, Tensor) and _plain_meta(t) for t in ts):
        return NotImplemented
    rank = ts[0].dim()
    if rank == 0 or any(t.dim() != rank for t in ts):
        return NotImplemented  # 0-d and legacy empty 1-d tensors: torch's own rules and messages
    dim = cat_dim(args, kwargs)
    if not -rank <= dim < rank:
        return NotImplemented
    d = dim % rank
    first = ts[0].shape
    for i, t in enumerate(ts[1:], start=1):
        for j in range(rank):
            if j != d and t.shape[j] != first[j]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{first[j]} but got size {t.shape[j]} for tensor number {i} in the list.")
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    shape = list(first)
    shape[d] = sum(t.shape[d] for t in ts)
    return torch.empty(shape, dtype=dtype, device="meta")
