"""What one torch call takes and makes, as the recorder reads it: the tensors among its
arguments, their shapes, and the bytes its outputs newly allocate. One walker for a
call's tensors (``call_tensors``), used by the recorder, ``values`` and ``meta_memo``,
and one reader of an argument by position or keyword (``arg``).
"""

from __future__ import annotations

from typing import Any

import torch

from .inputs import tensors

# Argument values that hold no tensor: a call made of tensors and these needs no walk.
ATOMS = (int, float, bool, str, type(None), torch.dtype, torch.device, torch.memory_format, torch.layout,
         slice, type(Ellipsis))


def call_tensors(args: tuple, kwargs: dict) -> list[torch.Tensor]:
    """Every tensor a call takes, in order: each argument, positional or by keyword, as
    ``tensors`` walks it (nested lists, tuples, dicts and dataclasses, each argument to the
    same depth as an ``input_data`` item, which ``Inputs.parse`` checks), without the walk
    for the usual call: tensors and plain values."""
    out = []
    for values in (args, kwargs.values()) if kwargs else (args,):
        for a in values:
            if isinstance(a, torch.Tensor):
                out.append(a)
            elif not isinstance(a, ATOMS):
                return [t for v in (*args, *kwargs.values()) for t in tensors(v)]
    return out


def typed_items(kw: dict[str, Any]) -> tuple:
    """``kw`` as a key for the tables that remember an answer per arguments: each value with
    its type, as True == 1 and 1.0 == 1 hash alike but an answer keeps the argument as given
    (raises TypeError for an unhashable value when the key is hashed)."""
    values = tuple(kw.values())
    return tuple(kw), values, tuple(map(type, values))  # (a comprehension of triples: 50% slower)


def arg(args: tuple, kwargs: dict, i: int, name: str, default: Any = None) -> Any:
    """Argument ``name`` of a call, given by keyword or as the ``i``-th positional one."""
    if name in kwargs:
        return kwargs[name]
    return args[i] if len(args) > i else default


def shapes(ts: list[torch.Tensor]) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in ts]


def new_bytes(ins: list[torch.Tensor], outs: list[torch.Tensor]) -> int:
    """Bytes the outputs newly allocate: a view of an input or an in-place result adds none."""
    bases = set()
    for t in ins:
        bases.add(id(t))
        if t._base is not None:
            bases.add(id(t._base))
    total = 0
    for t in outs:
        if id(t) in bases or (t._base is not None and id(t._base) in bases):
            continue
        total += t.numel() * t.element_size()
    return total
