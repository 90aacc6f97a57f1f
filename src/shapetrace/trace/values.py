"""How a meta trace runs each torch call: weights without values, the input's values kept.

The meta device holds shapes, no values, so a forward that reads a value fails there:
transformers' mask code asks ``attention_mask.all()`` (to skip an all-ones mask), T5
buckets relative positions, a model checks ``if x.sum() > 0``. What such code reads is
computed from the input alone (the mask, positions, ``torch.arange``), never from the
weights. So a meta trace keeps the input's tensors real on the CPU when small (``MAX_VALUES``
elements: the ``input_data`` the caller gave, or the zeros an ``input_size`` makes, the
values a CPU trace of that size reads too) and lets every tensor made from them alone stay
real, while the weights and everything computed from them stay on meta:

* a call on real tensors only runs on the CPU for real (the input is small, and these
  calls are few: mask and position bookkeeping);
* a call that mixes real and meta tensors gets meta copies of the real ones (torch
  refuses most mixed calls, and computes some, like ``cpu.add_(meta)``, silently wrong),
  on every meta trace: a forward's own CPU tensors (``x + torch.ones(4)``, a layer it
  builds as it runs) meet meta ones also when the input is too big to keep;
  a real tensor changed in place by such a call has lost its values and counts as meta
  from then on (``stale``);
* a factory asked for the meta device (``torch.arange(n, device=x.device)`` with ``x``
  on meta) and ``t.to(x.device)`` of a real tensor stay on the CPU when small: they carry
  values that depend on no weight (and a meta tensor moved to a real one's device stays
  on meta);
* reading a value (``.item()``, ``bool()``, ``.tolist()``) works on a real tensor and is
  counted (``reads``): the report says the trace used the input's values.

Memory stays that of the input and what the forward computes from it alone, whatever
the model's size. ``MetaCalls`` also answers the ops whose torch meta kernel follows
another device's rules (``meta_ops``), and remembers meta kernels' answers (``meta_memo``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import torch

from ..core.records import Warning_
from . import meta_dtypes, meta_memo, meta_ops, meta_shapes, meta_values, ops
from .call_args import call_tensors
from .failures import meta_cannot
from .inputs import tensors

Tensor = torch.Tensor
META = torch.device("meta")
CPU = torch.device("cpu")

# Inputs up to this many elements keep their values on a meta trace, and a factory call
# of at most this many elements asked for meta is made on the CPU (4 MiB of float32).
MAX_VALUES = 1 << 20

# Factories of defined values. Not ``empty`` (no values: a lazy layer materialises its
# meta weight with it) nor the random ones (values no shape depends on).
_FACTORIES: frozenset = frozenset(ops.resolve(torch, (
    "arange", "range", "zeros", "ones", "full", "eye", "linspace", "logspace", "tensor", "as_tensor",
    "scalar_tensor", "tril_indices", "triu_indices")))
_DATA_FACTORIES: frozenset = frozenset(ops.resolve(torch, ("tensor", "as_tensor")))
_TO: frozenset = frozenset(ops.resolve(Tensor, ("to",)))
_SETITEM: frozenset = frozenset(ops.resolve(Tensor, ("__setitem__",)))
# Calls that read a tensor's values into Python.
_READS: frozenset = frozenset(ops.resolve(Tensor, (
    "item", "tolist", "__bool__", "__int__", "__float__", "__index__", "numpy", "__array__")))


def _is_meta_device(d: Any) -> bool:
    if isinstance(d, torch.device):
        return d.type == "meta"
    return isinstance(d, str) and d.strip().lower() == "meta"


# Tensor properties a forward may set to another tensor (``w.data = torch.zeros(4, 4)``,
# ``p.grad = g``), which torch refuses across devices.
_TENSOR_SLOTS = (torch._C.TensorBase.data, torch._C.TensorBase.grad)


def _slot_value(args: tuple) -> tuple:
    """``t.data = v`` with ``t`` on meta (a weight) and ``v`` a real tensor (the forward's
    own ``torch.zeros``): ``v``'s meta copy (shape, dtype), as a weight
    made from values keeps no values on a meta trace."""
    t, v = args
    if isinstance(t, Tensor) and t.is_meta and isinstance(v, Tensor) and not v.is_meta:
        v = torch.empty_like(v, device=META)  # as _op's meta copies
    return t, v


class MetaCalls:
    """Runs a meta trace's torch calls (``Recorder.call``); see the module docstring."""

    def __init__(self, keep_values: bool) -> None:
        self.keep_values = keep_values
        self.reads: Counter = Counter()  # op kind ("item", "__bool__" ...) -> times a real value was read
        self.real_calls = 0  # calls computed for real on the CPU
        self.stale: dict[int, Tensor] = {}  # id -> real tensor whose values a mixed in-place call lost

    def __call__(self, func: Any, args: tuple, kwargs: dict) -> Any:
        name = getattr(func, "__name__", "")
        if name == "__set__" and getattr(func, "__self__", None) in _TENSOR_SLOTS and len(args) == 2:
            return _run(func, _slot_value(args), kwargs)
        if name in ("__get__", "__set__"):
            return _run(func, args, kwargs)  # property reads (x.shape, x.device) carry no values
        if func in _READS:
            return self._read(func, args, kwargs)
        if self.keep_values:
            if func in _FACTORIES and _is_meta_device(kwargs.get("device")):
                return self._factory(func, args, kwargs)
            if func in _TO and args:
                return self._to(func, args, kwargs)
        # Also without the input's values: a forward's own CPU tensors (``x + torch.ones(4)``,
        # a layer it builds as it runs) meet the meta ones, which torch refuses to mix.
        return self._op(func, args, kwargs)

    # ------------------------------------------------------------------ kinds of calls

    def _real(self, t: Any) -> bool:
        return isinstance(t, Tensor) and not t.is_meta and id(t) not in self.stale

    def _read(self, func: Any, args: tuple, kwargs: dict) -> Any:
        t = args[0] if args else None
        if isinstance(t, Tensor) and id(t) in self.stale:
            t = torch.empty_like(t, device=META)  # torch's own "cannot be called on meta tensors"
            return func(t, *args[1:], **kwargs)
        if self.keep_values and self._real(t):  # the input's values (else a forward's own constant)
            self.reads[ops.op_kind(func)] += 1
        return func(*args, **kwargs)

    def _factory(self, func: Any, args: tuple, kwargs: dict) -> Any:
        # on meta first: the size, without memory (torch's meta factories are Python, ~100 µs:
        # remembered for the sizes; not torch.tensor's data, which is the whole point of it)
        out = meta_memo.run(func, args, kwargs, _kernel, factory=func not in _DATA_FACTORIES)
        if out.numel() > MAX_VALUES:
            return out
        self.real_calls += 1
        return func(*args, **{**kwargs, "device": CPU})

    def _to(self, func: Any, args: tuple, kwargs: dict) -> Any:
        """``t.to(x.device)``: a real tensor stays real when ``x`` is on meta (if small), and
        a meta one stays on meta when ``x`` is real (meta has no data to copy out)."""
        t = args[0]
        # _parse_to takes .to()'s arguments but not copy= (torch reads that one itself)
        device, dtype, _, memory_format = torch._C._nn._parse_to(
            *args[1:], **{k: v for k, v in kwargs.items() if k != "copy"})
        if device is None or not isinstance(t, Tensor):
            return self._op(func, args, kwargs)
        to_meta = _is_meta_device(device)
        if to_meta == t.is_meta or (to_meta and (id(t) in self.stale or t.numel() > MAX_VALUES)):
            return self._op(func, args, kwargs)
        extra: dict[str, Any] = {"copy": bool(kwargs.get("copy", False))}
        if memory_format is not None:
            extra["memory_format"] = memory_format
        return func(t, dtype=dtype if dtype is not None else t.dtype, **extra)

    def _op(self, func: Any, args: tuple, kwargs: dict) -> Any:
        real = meta = stale = False
        for t in call_tensors(args, kwargs):
            if t.is_meta:
                meta = True
            elif id(t) in self.stale:
                stale = True
            else:
                real = True
        if not (real or stale):
            return _run(func, args, kwargs)
        if not (meta or stale):
            self.real_calls += 1
            return func(*args, **kwargs)
        # Mixed (or values lost): the real tensors' values are read where the CPU would read
        # them (an index's range, a mask's count: ``meta_values``), then they take part as
        # meta copies.
        if func in meta_values.CHECKS:
            meta_values.check(func, args, kwargs, self._real)
        if func in meta_values.BY_VALUES:
            out = meta_values.by_values(func, args, kwargs, self._real)
            if out is not NotImplemented:  # its size came from the input's values: said in the report
                self.real_calls += 1
                self.reads[ops.op_kind(func)] += 1
                return out
        copies: dict[int, Tensor] = {}

        def as_meta(x: Any) -> Any:
            if isinstance(x, Tensor) and not x.is_meta:
                c = copies.get(id(x))
                if c is None:
                    c = copies[id(x)] = torch.empty_like(x, device=META).requires_grad_(x.requires_grad)
                return c
            if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
                return type(x)(as_meta(v) for v in x)
            return x

        new_args = tuple(as_meta(a) for a in args)
        new_kwargs = {k: as_meta(v) for k, v in kwargs.items()}
        try:
            out = _run(func, new_args, new_kwargs)
        except Exception as e:
            out = self._with_numbers(func, args, kwargs, as_meta, meta_cannot(e))
            if out is NotImplemented:
                raise  # torch's own error, from the call as the CPU would see it
        first = args[0] if args else None
        if isinstance(first, Tensor) and not first.is_meta and (
                func in _SETITEM or (isinstance(out, Tensor) and out is new_args[0])):
            self._lose(first)  # changed in place by a call with no values: its values are gone
        for t in call_tensors((kwargs.get("out"),), {}):  # written by the call: gone as well
            if not t.is_meta:
                self._lose(t)
        return out

    def _with_numbers(self, func: Any, args: tuple, kwargs: dict, as_meta: Callable[[Any], Any],
                      read_first: bool) -> Any:
        """The call again with each real one-value tensor as its number, where its meta copy
        failed: torch reads a tensor given for a size or a scalar (``x.view(b, n, -1)`` with
        ``n = torch.div(x.size(1), 2, rounding_mode="trunc")``, Longformer's chunking;
        ``x.narrow(0, start, 1)``) with ``__index__``/``item``, which the CPU answers from
        its value and a meta copy cannot. NotImplemented when there is none. When this call
        fails as well, its error is the CPU's if the first one was torch reading a value
        (``read_first``: the CPU reads the number too), else the first error stands
        (NotImplemented: the tensor was an operand, not a number)."""
        read = [0]

        def as_number(x: Any) -> Any:
            if isinstance(x, Tensor) and x.dim() == 0 and self._real(x) and not x.is_complex():
                read[0] += 1
                return x.item()
            if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
                return type(x)(as_number(v) for v in x)
            return as_meta(x)

        new_args = tuple(as_number(a) for a in args)
        new_kwargs = {k: as_number(v) for k, v in kwargs.items()}
        if not read[0]:
            return NotImplemented
        try:
            out = _run(func, new_args, new_kwargs)
        except Exception:  # noqa: BLE001 - which error is the CPU's, see the docstring
            if read_first:
                raise
            return NotImplemented
        self.reads["item"] += read[0]
        return out

    def _lose(self, t: Tensor) -> None:
        self.stale[id(t)] = t
        if t._base is not None:
            self.stale[id(t._base)] = t._base


def _run(func: Any, args: tuple, kwargs: dict) -> Any:
    """``func`` on its arguments, its answer remembered where that is exact (``meta_memo``)."""
    return meta_memo.run(func, args, kwargs, _kernel)


def _kernel(func: Any, args: tuple, kwargs: dict) -> Any:
    """``func`` on its arguments: by our meta kernel where ``meta_ops`` has one, after the
    CPU's dtype and convolution shape checks that torch's meta kernels skip
    (``meta_dtypes``, ``meta_shapes``)."""
    if func in meta_dtypes.FUNCS:
        meta_dtypes.check(func, args, kwargs)
    if func in meta_shapes.CHECKS:
        meta_shapes.check(func, args, kwargs)
    if func in meta_ops.KERNELS:
        out = meta_ops.run(func, args, kwargs)
        if out is not NotImplemented:
            return out
    out = func(*args, **kwargs)
    if func in meta_shapes.AFTER:
        meta_shapes.after(func, args, kwargs, out)
    return out


def keeps(inputs: Any) -> bool:
    """Whether a meta trace keeps this input's values, when small: the tensors the caller
    gave (``input_data``, not on meta), or the zeros an ``input_size`` makes, which are the
    values a CPU trace of that size reads too (transformers' ``pad_token_id in input_ids``
    check, Longformer's, reads them)."""
    if inputs.numel > MAX_VALUES:
        return False
    return inputs.data is None or not any(t.is_meta for t in tensors(inputs.data))


def used_values(calls: MetaCalls, zeros: bool) -> Warning_:
    """What the report says when a meta trace read values (``zeros``: the input was made
    from ``input_size``)."""
    kinds = ", ".join(f"{_READ_WORDS.get(k, k)} x{n}" for k, n in sorted(calls.reads.items()))
    values = "the input's values (zeros: it was made from input_size)" if zeros else "the input's values"
    return Warning_(code="input_values", row="",
                    message=f"traced on meta, but the forward reads tensor values ({kinds}): the "
                            f"tensors made from the input alone (masks, positions; {calls.real_calls} "
                            f"call{'' if calls.real_calls == 1 else 's'}) were computed on the CPU from "
                            f"{values}, the weights stayed on meta")


_READ_WORDS = {"__bool__": "bool()", "__int__": "int()", "__float__": "float()", "__index__": "index",
               "item": ".item()", "tolist": ".tolist()", "numpy": ".numpy()", "__array__": "numpy"}
