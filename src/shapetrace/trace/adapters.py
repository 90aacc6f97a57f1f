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

from ..core.layers import REGISTRY
from ..core.layers.base import REQUIRED

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


def is_internal(module: nn.Module) -> bool:
    """True when the module's forward is torch's own code: its functional calls are an
    implementation detail (F.conv2d inside Conv2d), not rows of the user's flow."""
    return nn_base(type(module)) is not None


@functools.lru_cache(maxsize=None)
def _core_names() -> dict[type, str]:
    """torch.nn class -> the core's layer name, for every layer the core registers."""
    out: dict[type, str] = {}
    for name in REGISTRY:
        cls = getattr(nn, name, None)
        if isinstance(cls, type) and issubclass(cls, nn.Module):
            out[cls] = name
    return out


def _bias_flag(module: nn.Module, attr: str) -> Callable[[nn.Module], Any]:
    return lambda m: getattr(m, attr, None) is not None


# Arguments torch does not keep under their own name. Keyed by (torch.nn class, argument).
_READERS: dict[tuple[type, str], Callable[[nn.Module], Any]] = {
    (nn.MultiheadAttention, "bias"): lambda m: m.in_proj_bias is not None,
}


def _read(module: nn.Module, base: type, arg: str, default: Any) -> Any:
    reader = _READERS.get((base, arg))
    if reader is not None:
        return reader(module)
    value = getattr(module, arg, _MISSING)
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


def core_call(module: nn.Module) -> tuple[str, dict[str, Any]] | None:
    """``(layer name, kwargs)`` to hand to ``core.compute`` for this module, or None.

    None when the module runs user code, its torch.nn class is not in the core, or a
    required argument cannot be read back.
    """
    base = nn_base(type(module))
    if base is None:
        return None
    name = _core_names().get(base)
    if name is None:
        return None
    kwargs: dict[str, Any] = {}
    for arg, default in REGISTRY[name].signature:
        value = _read(module, base, arg, default)
        if value is _MISSING:
            if default is REQUIRED:
                return None
            continue
        kwargs[arg] = value
    return name, kwargs


def integer_input(name: str) -> bool:
    """The core layer takes indices, not features (Embedding)."""
    defn = REGISTRY.get(name)
    return bool(defn and defn.integer_input)


def n_inputs(name: str) -> int:
    defn = REGISTRY.get(name)
    return defn.n_inputs if defn else 1
