"""The tensors a layer's constructor makes, by name and shape, and the arguments that
make given ones.

``shapes("Conv2d", {...})`` is what ``nn.Conv2d(...)`` holds: ``{"weight": (out, in /
groups, kh, kw), "bias": (out,)}`` (parameters, and the running statistics BatchNorm and
InstanceNorm keep as buffers). The tracer compares a module's tensors with it: where a
weight was replaced by hand (a pruned ``conv.weight = nn.Parameter(5 of 8 filters)`` with
``out_channels`` left at 8) torch computes with the weights, not the arguments, and
``arguments`` gives the arguments those weights belong to, so the layer's rule can still
check and explain the call. Shapes: the "Variables" sections of the docs pages
(https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html, ConvTranspose2d, Linear,
Bilinear, Embedding, BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm, RMSNorm, PReLU)
and torch/nn/modules/*.py.

Layers the module does not list hold no tensors. Arguments that cannot make tensors (a
missing required one, a non-integer size, groups that do not divide) give None: the
rule's own checks say what is wrong with them.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..records import Shape
from .base import REGISTRY, REQUIRED, fmt_shape, is_int

Args = Mapping[str, Any]


def _size(v: Any) -> tuple[int, ...] | None:
    """An int or a tuple of ints (``normalized_shape``, a kernel size) as a tuple."""
    if is_int(v) and v >= 0:
        return (v,)
    if isinstance(v, (tuple, list)) and all(is_int(x) and x >= 0 for x in v):
        return tuple(v)
    return None


def _ints(a: Args, *names: str) -> tuple[int, ...] | None:
    vals = tuple(a[n] for n in names)
    return vals if all(is_int(v) and v >= 0 for v in vals) else None


def _conv(n: int, transposed: bool) -> Callable[[Args], dict[str, Shape] | None]:
    def shapes(a: Args) -> dict[str, Shape] | None:
        ints = _ints(a, "in_channels", "out_channels", "groups")
        # an int is every side; a tuple shapes the weight as it is (torch's _pair(3,) is (3,))
        k = (a["kernel_size"],) * n if is_int(a["kernel_size"]) else _size(a["kernel_size"])
        if ints is None or k is None:
            return None
        cin, cout, g = ints
        if g == 0 or cin % g or cout % g:
            return None
        # torch/nn/modules/conv.py (_ConvNd): transposed weights are (in, out / groups, *k)
        w = (cin, cout // g) + k if transposed else (cout, cin // g) + k
        return {"weight": w, **({"bias": (cout,)} if a["bias"] else {})}
    return shapes


def _conv_args(n: int, transposed: bool) -> Callable[[Args, Mapping[str, Shape]], dict[str, Any] | None]:
    def args(a: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
        w, g = held.get("weight"), a["groups"]
        if w is None or len(w) < 2 or not is_int(g) or g <= 0:
            return None
        cin, cout = (w[0], w[1] * g) if transposed else (w[1] * g, w[0])
        return {"in_channels": cin, "out_channels": cout, "kernel_size": tuple(w[2:])}
    return args


def _linear(a: Args) -> dict[str, Shape] | None:
    ints = _ints(a, "in_features", "out_features")
    if ints is None:
        return None
    return {"weight": (ints[1], ints[0]), **({"bias": (ints[1],)} if a["bias"] else {})}


def _linear_args(a: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
    w = held.get("weight")
    return {"in_features": w[1], "out_features": w[0]} if w is not None and len(w) == 2 else None


def _bilinear(a: Args) -> dict[str, Shape] | None:
    ints = _ints(a, "in1_features", "in2_features", "out_features")
    if ints is None:
        return None
    i1, i2, out = ints
    return {"weight": (out, i1, i2), **({"bias": (out,)} if a["bias"] else {})}


def _bilinear_args(a: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
    w = held.get("weight")
    if w is None or len(w) != 3:
        return None
    return {"in1_features": w[1], "in2_features": w[2], "out_features": w[0]}


def _embedding(a: Args) -> dict[str, Shape] | None:
    ints = _ints(a, "num_embeddings", "embedding_dim")
    return None if ints is None else {"weight": ints}


def _embedding_args(a: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
    w = held.get("weight")
    return {"num_embeddings": w[0], "embedding_dim": w[1]} if w is not None and len(w) == 2 else None


def _affine(shape: Shape, weight: bool, bias: bool) -> dict[str, Shape]:
    return {**({"weight": shape} if weight else {}), **({"bias": shape} if weight and bias else {})}


def _stats(a: Args) -> dict[str, Shape] | None:
    """BatchNorm/InstanceNorm: weight and bias when affine, running statistics when kept."""
    if not a["affine"] and not a["track_running_stats"]:
        return {}  # torch keeps num_features but makes nothing of it
    ints = _ints(a, "num_features")
    if ints is None:
        return None
    out = _affine(ints, a["affine"], a["bias"])
    if a["track_running_stats"]:
        out.update(running_mean=ints, running_var=ints)
    return out


def _stats_args(a: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
    w = held.get("weight", held.get("running_mean"))
    return {"num_features": w[0]} if w is not None and len(w) == 1 else None


def _layer_norm(a: Args) -> dict[str, Shape] | None:
    if not a["elementwise_affine"]:
        return {}
    ns = _size(a["normalized_shape"])
    return None if ns is None else _affine(ns, True, a.get("bias", False))


def _group_norm(a: Args) -> dict[str, Shape] | None:
    if not a["affine"]:
        return {}
    ints = _ints(a, "num_channels")
    return None if ints is None else _affine(ints, True, a["bias"])


def _group_norm_args(a: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
    w = held.get("weight")
    return {"num_channels": w[0]} if w is not None and len(w) == 1 else None


def _prelu(a: Args) -> dict[str, Shape] | None:
    ints = _ints(a, "num_parameters")
    return None if ints is None else {"weight": ints}


def _prelu_args(a: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
    w = held.get("weight")
    return {"num_parameters": w[0]} if w is not None and len(w) == 1 else None


_SHAPES: dict[str, Callable[[Args], dict[str, Shape] | None]] = {
    "Linear": _linear, "Bilinear": _bilinear, "Embedding": _embedding, "LayerNorm": _layer_norm,
    "RMSNorm": _layer_norm, "GroupNorm": _group_norm, "PReLU": _prelu,
}
# Only where the forward reads the tensors and not the argument: LayerNorm and RMSNorm pass
# ``normalized_shape`` to torch, InstanceNorm compares ``num_features`` with the input, so
# their weights must fit their arguments (torch raises otherwise, and so does its meta kernel).
_ARGS: dict[str, Callable[[Args, Mapping[str, Shape]], dict[str, Any] | None]] = {
    "Linear": _linear_args, "Bilinear": _bilinear_args, "Embedding": _embedding_args,
    "GroupNorm": _group_norm_args, "PReLU": _prelu_args,
}
for _n in (1, 2, 3):
    for _t in (False, True):
        _name = f"ConvTranspose{_n}d" if _t else f"Conv{_n}d"
        _SHAPES[_name], _ARGS[_name] = _conv(_n, _t), _conv_args(_n, _t)
    _SHAPES[f"BatchNorm{_n}d"], _ARGS[f"BatchNorm{_n}d"] = _stats, _stats_args
    _SHAPES[f"InstanceNorm{_n}d"] = _stats


def _bound(layer: str, kwargs: Args) -> dict[str, Any] | None:
    """The constructor's arguments with their defaults; None when a required one is missing."""
    defn = REGISTRY.get(layer)
    if defn is None:
        return None
    out = {}
    for name, default in defn.signature:
        v = kwargs.get(name, default)
        if v is REQUIRED:
            return None
        out[name] = v
    return out


def has_weights(layer: str) -> bool:
    """Whether the layer's constructor makes tensors (parameters or running statistics)."""
    return layer in _SHAPES


def sized_by_weights(layer: str) -> bool:
    """Whether the layer's forward takes its sizes from its tensors alone, so that other
    tensors make it another layer (``arguments``); LayerNorm's does not."""
    return layer in _ARGS


def shapes(layer: str, kwargs: Args) -> dict[str, Shape] | None:
    """``{name: shape}`` of the tensors ``torch.nn.<layer>(**kwargs)`` holds ({} for a layer
    that holds none); None when the arguments cannot make them."""
    fn = _SHAPES.get(layer)
    if fn is None:
        return {}
    a = _bound(layer, kwargs)
    return None if a is None else fn(a)


def arguments(layer: str, kwargs: Args, held: Mapping[str, Shape]) -> dict[str, Any] | None:
    """``kwargs`` with the size arguments changed to those whose tensors are ``held`` (the
    module's own, by name), or None when no arguments make exactly those tensors (a bias
    left at the old size, a weight of another rank)."""
    fn = _ARGS.get(layer)
    a = _bound(layer, kwargs)
    if fn is None or a is None:
        return None
    sizes = fn(a, held)
    if sizes is None:
        return None
    out = {**kwargs, **sizes}
    return out if shapes(layer, out) == dict(held) else None


def refused(layer: str, kwargs: Args, held: Mapping[str, Shape]) -> str | None:
    """Why torch refuses a layer holding these tensors whatever its input, where its meta
    kernel does not check (aten/src/ATen/native/Convolution.cpp, ``check_shape_forward``,
    which the CPU runs and the meta device does not): a convolution's weight must split into
    its groups along dim 0, and its bias hold one value per output channel. None when no
    such rule applies."""
    if not layer.startswith("Conv"):
        return None
    w, b, g = held.get("weight"), held.get("bias"), kwargs.get("groups", 1)
    if w is None or len(w) < 2 or not is_int(g) or g <= 0:
        return None
    if w[0] % g:
        return (f"the weight of shape {fmt_shape(w)} does not split into groups={g} along dim 0: torch "
                f"needs a size divisible by {g} there")
    out = w[1] * g if layer.startswith("ConvTranspose") else w[0]
    if b is None or b == (out,):
        return None
    return (f"the bias of shape {fmt_shape(b)} does not fit the weight of shape {fmt_shape(w)}, which "
            f"makes {out} output channel{'' if out == 1 else 's'}: torch needs a bias of shape ({out},)")
