"""nn.Module instance -> (core layer name, constructor kwargs), by the module's type.

The core (``core/layers``) knows torch.nn layers by class name and constructor
arguments. A traced module is an instance; this module maps its *type* to the
torch.nn class whose ``forward`` it runs (``nn_base``), and reads the constructor
arguments back from the attributes torch stores them under (torch keeps
``in_channels``, ``kernel_size``, ``padding`` ... as attributes of the same name;
``bias`` is stored as a tensor or None). Types the core does not know get None:
no check and no formula, never a guess.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

from ..core.layers import REGISTRY, weights
from ..core.layers.base import REQUIRED
from ..core.errors import ShapeError
from ..core.records import Note, note
from .call_args import arg, typed_items
from .inputs import uninitialized

_MISSING = object()


@functools.lru_cache(maxsize=None)
def torch_nn_types() -> frozenset[type]:
    """Every nn.Module class torch.nn exports (Conv2d, Sequential, TransformerEncoderLayer ...)."""
    return frozenset(v for v in vars(nn).values() if isinstance(v, type) and issubclass(v, nn.Module))


@functools.lru_cache(maxsize=None)
def nn_base(cls: type) -> type | None:
    """The torch.nn class whose ``forward`` instances of ``cls`` run, or None for user code.

    ``nn.Conv2d`` -> ``nn.Conv2d``; ``class MyConv(nn.Conv2d)`` without its own forward ->
    ``nn.Conv2d``; a subclass that overrides ``forward`` (or any user module) -> None.
    """
    types = torch_nn_types()
    for base in cls.__mro__:
        if base in types and base is not nn.Module:
            return base if getattr(cls, "forward", None) is getattr(base, "forward", None) else None
    return None


@functools.lru_cache(maxsize=None)
def _core_names() -> dict[type, str]:
    """torch.nn class -> the core's layer name, for every layer the core registers."""
    out: dict[type, str] = {}
    for name in REGISTRY:
        cls = getattr(nn, name, None)
        if isinstance(cls, type) and issubclass(cls, nn.Module):
            out[cls] = name
    return out


# Arguments torch does not keep under their own name. Keyed by (torch.nn class, argument).
_READERS: dict[tuple[type, str], Callable[[nn.Module], Any]] = {
    (nn.MultiheadAttention, "bias"): lambda m: m.in_proj_bias is not None,
}


def _value(value: Any, default: Any) -> Any:
    """The argument as given to the constructor, from the attribute torch keeps it in."""
    if value is _MISSING:
        return _MISSING
    if isinstance(value, torch.Tensor):
        # ``bias`` (and LayerNorm's ``bias``) are stored as the tensor; the argument is a flag.
        return True if isinstance(default, bool) else _MISSING
    if value is None and isinstance(default, bool):
        return False
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (bool, int, float, str, tuple, list)) or value is None:
        return value
    return _MISSING


@functools.lru_cache(maxsize=None)
def _plan(base: type) -> tuple[str, tuple[tuple[str, Any, Callable[[nn.Module], Any] | None], ...]] | None:
    """For a torch.nn class the core knows: its layer name and, per constructor argument in
    torch's order, (argument, default, its reader if torch keeps it under another name).
    Worked out once per class: ``core_call`` runs on every module call of a trace."""
    name = _core_names().get(base)
    if name is None:
        return None
    return name, tuple((arg, default, _READERS.get((base, arg))) for arg, default in REGISTRY[name].signature)


def core_call(module: nn.Module) -> tuple[str, dict[str, Any]] | None:
    """``(layer name, kwargs)`` to hand to ``core.compute`` for this module, or None.

    None when the module runs user code, its torch.nn class is not in the core, or a
    required argument cannot be read back.
    """
    base = nn_base(type(module))
    if base is None:
        return None
    plan = _plan(base)
    if plan is None:
        return None
    name, args = plan
    kwargs: dict[str, Any] = {}
    attrs = vars(module)  # most arguments are plain attributes: read without attribute lookup
    for key, default, reader in args:
        if reader is not None:
            value = reader(module)
        else:
            value = attrs.get(key, _MISSING)
            if value is _MISSING:  # a parameter (bias), a buffer or a property
                value = getattr(module, key, _MISSING)
            value = _value(value, default)
        if value is _MISSING:
            if default is REQUIRED:
                return None
            continue
        kwargs[key] = value
    return name, kwargs


def n_inputs(name: str) -> int:
    defn = REGISTRY.get(name)
    return defn.n_inputs if defn else 1


# --------------------------------------------------------------------------- functional calls
# F.conv2d(x, w, ...) is nn.Conv2d's computation with the weight passed in: the core's rule
# for the layer gives its formula and receptive field. Each entry reads the layer's
# constructor arguments from the call (argument order as in torch.nn.functional's docs).


def _conv_call(n: int):
    def read(args: tuple, kwargs: dict) -> tuple[str, dict[str, Any]] | None:
        w = arg(args, kwargs, 1, "weight", None)
        if not isinstance(w, torch.Tensor) or w.dim() != n + 2:
            return None
        groups = arg(args, kwargs, 6, "groups", 1)
        padding = arg(args, kwargs, 4, "padding", 0)
        return f"Conv{n}d", {
            "in_channels": w.shape[1] * groups, "out_channels": w.shape[0], "kernel_size": tuple(w.shape[2:]),
            "stride": arg(args, kwargs, 3, "stride", 1), "padding": padding,
            "dilation": arg(args, kwargs, 5, "dilation", 1), "groups": groups,
            "bias": arg(args, kwargs, 2, "bias", None) is not None}
    return read


def _pool_call(kind: str, n: int):
    def read(args: tuple, kwargs: dict) -> tuple[str, dict[str, Any]] | None:
        kw: dict[str, Any] = {"kernel_size": arg(args, kwargs, 1, "kernel_size", None),
                              "stride": arg(args, kwargs, 2, "stride", None),
                              "padding": arg(args, kwargs, 3, "padding", 0)}
        if kw["kernel_size"] is None:
            return None
        if kind == "Max":
            kw["dilation"] = arg(args, kwargs, 4, "dilation", 1)
            kw["ceil_mode"] = arg(args, kwargs, 5, "ceil_mode", False)
            kw["return_indices"] = arg(args, kwargs, 6, "return_indices", False)
        else:
            kw["ceil_mode"] = arg(args, kwargs, 4, "ceil_mode", False)
            kw["count_include_pad"] = arg(args, kwargs, 5, "count_include_pad", True)
            if n > 1:
                kw["divisor_override"] = arg(args, kwargs, 6, "divisor_override", None)
        if kw["stride"] is None or kw["stride"] == []:
            kw["stride"] = None
        return f"{kind}Pool{n}d", kw
    return read


def _adaptive_call(kind: str, n: int):
    def read(args: tuple, kwargs: dict) -> tuple[str, dict[str, Any]] | None:
        size = arg(args, kwargs, 1, "output_size", None)
        return (f"Adaptive{kind}Pool{n}d", {"output_size": size}) if size is not None else None
    return read


def _linear_call(args: tuple, kwargs: dict) -> tuple[str, dict[str, Any]] | None:
    w = arg(args, kwargs, 1, "weight", None)
    if not isinstance(w, torch.Tensor) or w.dim() != 2:
        return None
    return "Linear", {"in_features": w.shape[1], "out_features": w.shape[0],
                      "bias": arg(args, kwargs, 2, "bias", None) is not None}


def _functional_table() -> dict[Any, Callable[[tuple, dict], tuple[str, dict[str, Any]] | None]]:
    import torch.nn.functional as F

    table: dict[Any, Callable] = {F.linear: _linear_call}
    for n in (1, 2, 3):
        table[getattr(F, f"conv{n}d")] = _conv_call(n)
        table[getattr(F, f"avg_pool{n}d")] = _pool_call("Avg", n)
        table[getattr(F, f"adaptive_avg_pool{n}d")] = _adaptive_call("Avg", n)
    for n in (1, 2, 3):
        # F.max_poolNd is a dispatcher over the with/without-indices variants; key both
        for f in (getattr(F, f"max_pool{n}d"), getattr(F, f"max_pool{n}d_with_indices", None)):
            if f is not None:
                table[f] = _pool_call("Max", n)
    return {f: r for f, r in table.items() if f is not None}


FUNCTIONAL = _functional_table()


def functional_call(func: Any, args: tuple, kwargs: dict) -> tuple[str, dict[str, Any]] | None:
    """``(layer name, kwargs)`` for a functional call the core has a layer rule for."""
    read = FUNCTIONAL.get(func)
    if read is None:
        return None
    try:
        call = read(args, kwargs)
    except (IndexError, TypeError, AttributeError):
        return None
    if call is None or call[0] not in REGISTRY:
        return None
    return call


def layer_rule(module: nn.Module) -> tuple[str, dict[str, Any], Note | None] | None:
    """``(layer name, kwargs, note)`` for the core's rule of this module's call, or None.

    ``core_call``'s answer, checked against the tensors the layer holds (raises
    ``ShapeError`` for tensors torch refuses whatever the input, ``weights.refused``): torch computes with
    its weights, not with the arguments it keeps, and a weight replaced by hand (a pruned
    ``conv.weight = nn.Parameter(5 of 8 filters)`` with ``out_channels`` left at 8, ``w.data
    = ...`` in a forward) is another layer's. The rule then gets the arguments the weights
    belong to (``core.layers.weights.arguments``) and a note saying so; where no arguments
    make them (a bias left at the old size) there is no rule and torch decides. A lazy
    layer's first call and a weight computed at each call (a parametrization, the old
    weight_norm/spectral_norm hooks) are taken as the arguments say."""
    call = core_call(module)
    if call is None:
        return None
    name, kw = call
    want = _expected(name, kw)
    if not want:
        return name, kw, None  # no tensors (a ReLU), or arguments the rule will refuse
    held: dict[str, tuple[int, ...]] = {}
    fits = True
    params, buffers = module._parameters, module._buffers
    for key, shape in want.items():
        t = params.get(key)
        if t is None:
            t = buffers.get(key)
        if t is None:
            t = vars(module).get(key)  # a plain tensor attribute (``del m.weight; m.weight = w``)
            if not isinstance(t, torch.Tensor):
                if _computed_weights(module):
                    return name, kw, None
                return None  # no weight at all: torch's forward says what is missing
        if uninitialized(t):
            return name, kw, None  # a lazy layer's first call: the rule gives the shapes it will take
        held[key] = tuple(t.shape)
        fits = fits and held[key] == shape
    if fits:
        return name, kw, None
    if _computed_weights(module):
        return name, kw, None
    fitted = weights.arguments(name, kw, held)
    if fitted is None:
        why = weights.refused(name, kw, held)
        if why is not None:  # torch refuses it on the CPU, its meta kernel does not
            raise ShapeError(f"{name}: {why}", layer=name, argument="weight")
        return None
    changed = [k for k in fitted if fitted[k] != kw.get(k)]
    return name, fitted, note("replaced_weights", now=_words(fitted, changed), given=_words(kw, changed))


def _words(kw: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(f"{k}={kw[k]}" for k in keys)


_EXPECTED: dict[tuple, dict[str, tuple[int, ...]] | None] = {}


def _expected(name: str, kw: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
    """``core.layers.weights.shapes``, remembered per arguments (asked on every layer call)."""
    if not weights.has_weights(name):
        return None
    try:
        key = (name, typed_items(kw))
        hit = _EXPECTED.get(key, _MISSING)
    except TypeError:  # an unhashable argument (a list)
        return weights.shapes(name, kw)
    if hit is _MISSING:
        if len(_EXPECTED) > 4096:
            _EXPECTED.clear()
        hit = _EXPECTED[key] = weights.shapes(name, kw)
    return hit  # type: ignore[return-value]


def _computed_weights(module: nn.Module) -> bool:
    """The layer's weight is made from other tensors at each call (torch.nn.utils'
    parametrizations, or the hooks of its deprecated weight_norm and spectral_norm)."""
    if parametrize.is_parametrized(module):
        return True
    return any(isinstance(h, (WeightNorm, SpectralNorm)) for h in module._forward_pre_hooks.values())
