"""Stage 1 of a trace: the model's input as asked (shapes to make, or tensors to move),
checked once, and the helpers that find the tensors in nested arguments and in a model.

Owns: ``Inputs`` (``summary``'s ``input_size`` / ``input_data`` / ``dtypes``), shape and
dtype parsing, and the walks over tensors (``tensors``, ``tensors_of``) every stage uses.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..core.errors import ArgumentError
from ..core.records import Shape


class Inputs:
    """The model's input as asked: shapes to make, or tensors to move to the trace device."""

    def __init__(self, shapes: list[Shape] | None, dtypes: list[torch.dtype | None] | None, data: Any):
        self.shapes, self.dtypes, self.data = shapes, dtypes, data
        if shapes is not None:
            self.numel = sum(math.prod(s) for s in shapes)
        else:
            self.numel = sum(t.numel() for t in tensors(data))

    @classmethod
    def parse(cls, input_size: Any, input_data: Any, dtypes: Sequence[Any] | None) -> "Inputs":
        if input_size is not None and input_data is not None:
            raise ArgumentError("give input_size or input_data, not both")
        if input_data is not None:
            if not isinstance(input_data, (torch.Tensor, list, tuple, dict)):
                raise ArgumentError(f"input_data must be a tensor, a list/tuple of tensors or a dict, "
                                    f"got {type(input_data).__name__}")
            if too_deep(input_data):
                raise ArgumentError(f"input_data is nested more than {MAX_NESTING + 1} levels deep (lists, "
                                    f"tuples, dicts); a forward's inputs are read to that depth")
            if not tensors(input_data):
                raise ArgumentError("input_data holds no tensor")
            return cls(None, None, input_data)
        if input_size is None:
            raise ArgumentError("give input_size, e.g. (1, 3, 224, 224), or input_data")
        shapes = _shapes(input_size)
        dts: list[torch.dtype | None] = [None] * len(shapes)
        if dtypes is not None:
            given = [_dtype(d) for d in (dtypes if isinstance(dtypes, (list, tuple)) else [dtypes])]
            if len(given) == 1:
                given = given * len(shapes)
            if len(given) != len(shapes):
                raise ArgumentError(f"dtypes has {len(given)} entries for {len(shapes)} "
                                    f"input{'' if len(shapes) == 1 else 's'}")
            dts = list(given)
        return cls(shapes, dts, None)

    def build(self, dev: torch.device, default: torch.dtype) -> tuple[tuple, dict]:
        """The forward's ``(args, kwargs)`` on ``dev``; never the caller's own tensors."""
        if self.shapes is not None:
            make = torch.empty if dev.type == "meta" else torch.zeros  # meta: no fill, no kernel
            args = tuple(_make(make, s, dt or default, dev) for s, dt in zip(self.shapes, self.dtypes))
            return args, {}
        moved = map_tensors(self.data, lambda t: _to_device(t, dev))
        if isinstance(moved, dict):
            return (), dict(moved)
        if isinstance(moved, torch.Tensor):
            return (moved,), {}
        return tuple(moved), {}


INT64_MAX = 2**63 - 1


def _make(make: Callable[..., torch.Tensor], shape: Shape, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """One made input. A storage beyond int64 bytes (torch: "Storage size calculation
    overflowed") or one the device cannot hold is bad input, not a crash of the trace."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > INT64_MAX:
        raise ArgumentError(f"input_size {tuple(shape)} of {dtype} is {nbytes:.3g} bytes, beyond what "
                            f"torch can address (2**63 - 1 bytes)")
    try:
        return make(shape, dtype=dtype, device=dev)
    except (RuntimeError, MemoryError) as e:  # torch.OutOfMemoryError is a RuntimeError
        raise ArgumentError(f"input_size {tuple(shape)} of {dtype} ({nbytes:.3g} bytes) cannot be "
                            f"allocated on {dev}: {' '.join(str(e).split())[:160]}",
                            fix="device='meta' traces without allocating") from None


def _shapes(input_size: Any) -> list[Shape]:
    def one(s: Any) -> Shape:
        if isinstance(s, torch.Size):
            s = tuple(s)
        if not isinstance(s, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                      for d in s):
            raise ArgumentError(f"input_size must be a shape like (1, 3, 224, 224) or a list of shapes, "
                                f"got {input_size!r}")
        if any(d < 0 for d in s):
            raise ArgumentError(f"input_size has a negative size: {tuple(s)}")
        if any(d > INT64_MAX for d in s) or math.prod(s) > INT64_MAX:
            raise ArgumentError(f"input_size {tuple(s)} has more than 2**63 - 1 elements (torch sizes "
                                f"are int64)")
        return tuple(s)

    if isinstance(input_size, (list, tuple)) and input_size and all(
            isinstance(s, (list, tuple, torch.Size)) for s in input_size):
        return [one(s) for s in input_size]
    return [one(input_size)]


def _dtype(d: Any) -> torch.dtype:
    if isinstance(d, torch.dtype):
        return d
    if isinstance(d, str):
        v = getattr(torch, d.strip().removeprefix("torch."), None)
        if isinstance(v, torch.dtype):
            return v
    raise ArgumentError(f"dtypes entries must be torch dtypes or names like 'float32', 'long'; got {d!r}")


def default_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of made inputs: the model's first floating-point parameter's, else torch's default."""
    for p in model.parameters():
        if p.is_floating_point() and not uninitialized(p):
            return p.dtype
    return torch.get_default_dtype()


def _to_device(t: torch.Tensor, dev: torch.device) -> torch.Tensor:
    if dev.type == "meta":
        return torch.empty_like(t, device="meta")
    # A copy even on the same device: in-place ops in the forward must not touch the caller's data.
    return t.detach().to(dev, copy=True)


def map_tensors(obj: Any, fn: Callable[[torch.Tensor], Any]) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(map_tensors(v, fn) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_tensors(v, fn) for v in obj)
    return obj


# How deep ``tensors`` looks into nested lists, tuples, dicts and dataclasses: a forward's
# arguments and outputs are rarely more than three deep, and a cap keeps a hostile nesting
# (or a self-containing list) from costing a RecursionError. Inputs nested deeper are refused
# where they enter (``Inputs.parse``), not silently read as holding no tensor.
MAX_NESTING = 8


def tensors(obj: Any, _depth: int = 0) -> list[torch.Tensor]:
    """Every tensor in a (nested) argument or output, in order."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if _depth > MAX_NESTING:
        return []
    if isinstance(obj, (list, tuple)):
        out: list[torch.Tensor] = []
        for v in obj:
            out += tensors(v, _depth + 1)
        return out
    if isinstance(obj, dict):
        out = []
        for v in obj.values():
            out += tensors(v, _depth + 1)
        return out
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields:
        out = []
        for k in fields:
            out += tensors(getattr(obj, k, None), _depth + 1)
        return out
    return []


def too_deep(obj: Any, _depth: int = 0) -> bool:
    """Whether ``obj`` holds a non-empty container below what ``tensors`` reads."""
    if isinstance(obj, (list, tuple)):
        values: Any = obj
    elif isinstance(obj, dict):
        values = obj.values()
    elif getattr(obj, "__dataclass_fields__", None):
        values = [getattr(obj, k, None) for k in obj.__dataclass_fields__]
    else:
        return False
    if _depth > MAX_NESTING:
        return len(values) > 0
    return any(too_deep(v, _depth + 1) for v in values)


def tensors_of(model: nn.Module | list[nn.Module]) -> list[torch.Tensor]:
    """Every parameter and buffer of ``model`` (or of these modules: a walk already made),
    each once (tied weights too), in one walk over the modules (``parameters()`` and
    ``buffers()`` would walk them twice)."""
    seen: set[int] = set()
    out: list[torch.Tensor] = []
    for m in (model.modules() if isinstance(model, nn.Module) else model):
        for t in (*m._parameters.values(), *m._buffers.values()):
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                out.append(t)
    return out


def uninitialized(t: torch.Tensor) -> bool:
    """A lazy layer's parameter before its first call (no shape yet)."""
    return isinstance(t, nn.parameter.UninitializedTensorMixin)
