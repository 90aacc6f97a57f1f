"""torch's meta kernels, remembered: one job, the meta trace's biggest cost made small.

On the meta device most kernels are Python (``torch._refs`` / ``torch._prims``: type
promotion, broadcasting, the stride rules), 30-150 µs a call against the 1-5 µs of a
tiny CPU kernel, so a meta trace of a tiny transformer spent about half its time in them
(issue 11: Llama with two layers, 130 calls a trace). What such a kernel returns, a new
tensor with no values, is a function of what it was given: each tensor argument's type,
dtype, shape, strides, storage offset and autograd flag, the other arguments' values, and
two global settings (grad mode; the default dtype, which Python floats promote to). So
the answer is kept (shape, strides, dtype) and, asked again, made with one
``torch.empty_strided`` instead: the same tensor, 10-30x faster. Repeated layers ask the
same questions (every decoder layer after the first), and so does every trace of a model
after the first.

Kept only where that is exactly right:

* every tensor argument is a plain strided tensor or Parameter on meta (no real tensor,
  no fake one, no other subclass),
  there is at least one, and every other argument is a plain value (numbers, strings,
  dtypes, devices, slices, tuples and lists of them): a module, a callable, a generator or
  ``out=`` means the call is run every time;
* the result is one new meta tensor of the base class: its own storage (not an input's:
  a view, ``detach``, ``contiguous`` of a contiguous tensor and every in-place op return
  an alias, which a new tensor would break), offset 0, no ``_base``, real dtype, not
  requiring grad. A function seen once returning anything else (an alias, a tuple, a
  Python value, a property's value) is never looked up again, but for those that copy
  only where a view cannot do (``reshape``, ``contiguous``, ``to``: ``_VIEW_OR_COPY``),
  whose aliases are remembered per call;
* an error is never kept: the call raises again the next time, with torch's own words.

The table holds ``MAX_ENTRIES`` answers and is emptied when full (the core's answers,
``answers.py``, do the same).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from .call_args import call_tensors

Tensor = torch.Tensor
Parameter = torch.nn.Parameter
MAX_ENTRIES = 4096

# key -> (shape, stride, dtype) of the kernel's answer
_ANSWERS: dict[tuple, tuple] = {}
# functions that once returned something other than a new tensor: never looked up again
_UNCACHED: set = set()

# Argument values that are plain data: their value (and class) is all a kernel reads.
_PLAIN = (int, float, bool, str, type(None), torch.dtype, torch.device, torch.memory_format, torch.layout,
          type(Ellipsis))
_PLAIN_CLASSES = frozenset(_PLAIN)
# Functions that return a view or their input where they can and a new tensor where they
# cannot (``reshape`` of a transposed tensor copies, through a slow Python kernel): their
# aliases are remembered per call, not per function.
_VIEW_OR_COPY = frozenset(f for owner, names in (
    (Tensor, ("reshape", "contiguous", "to", "flatten", "reshape_as", "type_as", "float", "half", "bfloat16",
              "double", "long", "int", "bool", "type")),
    (torch, ("reshape", "flatten"))) for f in (getattr(owner, n, None) for n in names) if f is not None)
_ALIAS = ("alias",)
_STRIDED = torch.strided
_META = torch.device("meta")


def run(func: Any, args: tuple, kwargs: dict, kernel: Callable[[Any, tuple, dict], Any], *,
        factory: bool = False) -> Any:
    """``kernel(func, args, kwargs)``, or its remembered answer (see the module docstring).
    ``factory``: a call with no tensor argument asked for the meta device
    (``torch.arange(n, device="meta")``), whose answer its arguments decide as well."""
    if func in _UNCACHED:
        return kernel(func, args, kwargs)
    key = _key(func, args, kwargs, factory)
    if key is None:
        return kernel(func, args, kwargs)
    hit = _ANSWERS.get(key)
    if hit is not None:
        if hit is _ALIAS:
            return kernel(func, args, kwargs)
        return torch.empty_strided(hit[0], hit[1], dtype=hit[2], device=_META)
    out = kernel(func, args, kwargs)  # an error propagates and nothing is kept
    if not _new_tensor(out, args, kwargs):
        if func in _VIEW_OR_COPY:
            _keep(key, _ALIAS)  # this call's answer is an alias; another call's may be a copy
        else:
            _UNCACHED.add(func)
        return out
    if not out.requires_grad:  # a grad_fn is more than metadata
        _keep(key, (tuple(out.shape), out.stride(), out.dtype))
    return out


def _keep(key: tuple, answer: Any) -> None:
    if len(_ANSWERS) >= MAX_ENTRIES:
        _ANSWERS.clear()
    _ANSWERS[key] = answer


def clear() -> None:
    _ANSWERS.clear()
    _UNCACHED.clear()


def _key(func: Any, args: tuple, kwargs: dict, factory: bool = False) -> tuple | None:
    if "out" in kwargs:
        return None
    found = [0]
    parts = _atoms(args, found)
    if parts is None:
        return None
    if kwargs:
        kw = _atoms(tuple(kwargs.values()), found)
        if kw is None:
            return None
        parts = (parts, tuple(kwargs), kw)
    if not (found[0] or factory):
        return None
    key = (func, parts, torch.is_grad_enabled(), torch.get_default_dtype())
    try:
        hash(key)
    except TypeError:  # an unhashable func (a bound method of an unhashable object)
        return None
    return key


def _atoms(values: tuple | list, found: list) -> tuple | None:
    """What of each value a meta kernel can read, as hashable values; None when unsure. Runs
    on every meta call: the usual arguments (tensors, numbers) are read inline."""
    out = []
    for v in values:
        cls = v.__class__
        if cls is Tensor or cls is Parameter:  # not a subclass: a lazy layer's UninitializedParameter has no shape
            if not v.is_meta or v.layout is not _STRIDED or v.dtype.is_complex:
                return None
            found[0] += 1
            out.append((cls, v.dtype, v.shape, v.stride(), v.storage_offset(), v.requires_grad))
        elif cls in _PLAIN_CLASSES:
            out.append((cls, v))
        else:
            a = _atom(v, found)
            if a is None:
                return None
            out.append(a)
    return tuple(out)


def _atom(v: Any, found: list) -> Any:
    """``_atoms`` for the rarer values: subclasses of the plain ones, sequences, slices."""
    cls = v.__class__
    if isinstance(v, Tensor):
        return None
    if isinstance(v, _PLAIN):
        return (cls, v)
    if cls is tuple or cls is list or cls is torch.Size:
        inner = _atoms(v, found)
        return None if inner is None else (cls, inner)
    if cls is slice:
        inner = _atoms((v.start, v.stop, v.step), found)
        return None if inner is None else (cls, inner)
    return None


def _new_tensor(out: Any, args: tuple, kwargs: dict) -> bool:
    """``out`` is one tensor of its own: the base class, on meta, strided, real dtype, its
    own storage from offset 0 (not an input's: ``_base`` alone misses ``detach``)."""
    if (out.__class__ is not Tensor or not out.is_meta or out.layout is not torch.strided
            or out.dtype.is_complex or out._base is not None or out.storage_offset() != 0):
        return False
    mine = out.untyped_storage()._cdata
    return not any(t.untyped_storage()._cdata == mine for t in call_tensors(args, kwargs))
