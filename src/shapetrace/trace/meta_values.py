"""What a meta trace does with the input's values where a call mixes them with meta tensors.

A meta trace keeps the tensors made from the input alone real (``values``): token ids,
class labels, masks, index tensors. A call that mixes one of them with a meta tensor (a
weight, an activation) runs on meta, which has no values, so

* an index out of range went unseen: the CPU refuses ``F.embedding`` of a token id past
  the vocabulary ("index out of range in self"), ``F.cross_entropy`` of a label past the
  classes ("Target 5 is out of bounds."), ``gather``/``scatter``/``index_select``/
  ``index_add`` and ``x[idx]`` of an index past the dimension, where the meta kernels
  only see shapes. ``check`` reads the real index's values and raises the CPU's error;
* a call whose output size is a function of the real tensor's values (``x[mask]``,
  ``masked_select``, ``repeat_interleave`` with a tensor of repeats) failed on meta
  ("cannot be called on meta tensors"). ``by_values`` runs it on the CPU with the meta
  data tensor as zeros that take no memory (an expanded 0-d tensor; its values decide no
  size) and returns a meta tensor of the size the CPU gives.

Both compared with real CPU calls in tests/trace/test_meta_values.py.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..core.shapes import wrap_dim
from .call_args import arg, call_tensors
from .ops import resolve

Tensor = torch.Tensor
META = torch.device("meta")

Real = Callable[[Any], bool]  # whether a tensor has its values (not meta, not stale)


def _index(t: Any, real: Real) -> Tensor | None:
    """``t`` when it is a real integer tensor with elements (an index whose values we know)."""
    if isinstance(t, Tensor) and real(t) and not t.is_floating_point() and t.dtype != torch.bool and t.numel():
        return t
    return None


def _dim(x: Any, dim: Any) -> int | None:
    if not isinstance(x, Tensor) or isinstance(dim, bool) or not isinstance(dim, int):
        return None
    return wrap_dim(dim, x.dim())


def _first_out(idx: Tensor, lo: int, hi: int) -> int | None:
    """The first value of ``idx`` outside ``[lo, hi)``, or None."""
    bad = (idx < lo) | (idx >= hi)
    if not bool(bad.any()):
        return None
    return int(idx[bad].flatten()[0])


def _embedding(args: tuple, kwargs: dict, real: Real) -> None:
    idx, w = _index(arg(args, kwargs, 0, "input"), real), arg(args, kwargs, 1, "weight")
    if idx is not None and isinstance(w, Tensor) and w.dim() == 2 and _first_out(idx, 0, w.shape[0]) is not None:
        raise IndexError("index out of range in self")


def _embedding_bag(args: tuple, kwargs: dict, real: Real) -> None:
    idx, w = _index(arg(args, kwargs, 0, "input"), real), arg(args, kwargs, 1, "weight")
    if idx is None or not isinstance(w, Tensor) or w.dim() != 2:
        return
    flat = idx.flatten()
    bad = ((flat < 0) | (flat >= w.shape[0])).nonzero()
    if len(bad):
        i = int(bad[0])
        raise RuntimeError(f"Index {i} of input takes value {int(flat[i])} which is not in the valid range "
                           f"[0, {w.shape[0]})")


def _classes(args: tuple, kwargs: dict, real: Real) -> None:
    """cross_entropy/nll_loss: each class label is a class of the input, or ignore_index."""
    x, target = arg(args, kwargs, 0, "input"), _index(arg(args, kwargs, 1, "target"), real)
    ignore = arg(args, kwargs, 4, "ignore_index", -100)
    if target is None or not isinstance(x, Tensor) or x.dim() == 0 or not isinstance(ignore, int):
        return
    classes = x.shape[1] if x.dim() >= 2 else x.shape[0]
    labels = target[target != ignore]
    v = _first_out(labels, 0, classes) if labels.numel() else None
    if v is not None:
        raise IndexError(f"Target {v} is out of bounds.")


def _along(words: str, index_at: int = 2) -> Callable[[tuple, dict, Real], None]:
    """gather/scatter/index_add-like (input, dim, index, ...): index values in [0, size(dim))."""
    def check(args: tuple, kwargs: dict, real: Real) -> None:
        x = arg(args, kwargs, 0, "input")
        d = _dim(x, arg(args, kwargs, 1, "dim"))
        idx = _index(arg(args, kwargs, index_at, "index"), real)
        if d is None or idx is None:
            return
        size = x.shape[d] if x.dim() else 1
        v = _first_out(idx, 0, size)
        if v is not None:
            raise RuntimeError(words.format(v=v, dim=d, size=size))
    return check


def _getitem(args: tuple, kwargs: dict, real: Real) -> None:
    """``x[idx]`` with an integer tensor: each value in [-size, size) of dim 0."""
    x, key = args[0], args[1] if len(args) > 1 else None
    idx = _index(key, real)
    if idx is None or not isinstance(x, Tensor) or x.dim() == 0:
        return
    size = x.shape[0]
    v = _first_out(idx, -size, size)
    if v is not None:
        raise IndexError(f"index {v} is out of bounds for dimension 0 with size {size}")


_OUT_OF_BOUNDS = "index {v} is out of bounds for dimension {dim} with size {size}"


def _checks() -> dict[Any, Callable[[tuple, dict, Real], None]]:
    out: dict[Any, Callable[[tuple, dict, Real], None]] = {F.embedding: _embedding, F.embedding_bag: _embedding_bag,
                                                           F.cross_entropy: _classes, F.nll_loss: _classes}
    along = _along(_OUT_OF_BOUNDS)
    for f in resolve(torch, ("gather", "scatter", "scatter_add", "index_add", "index_copy", "index_fill")) + resolve(
            Tensor, ("gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "index_add", "index_add_",
                     "index_copy", "index_copy_", "index_fill", "index_fill_")):
        out[f] = along
    select = _along("INDICES element is out of DATA bounds, id={v} axis_dim={size}")
    for f in resolve(torch, ("index_select",)) + resolve(Tensor, ("index_select",)):
        out[f] = select
    out[Tensor.__getitem__] = _getitem
    return out


CHECKS = _checks()


def check(func: Any, args: tuple, kwargs: dict, real: Real) -> None:
    """Raise the CPU's error where a real index of this mixed call is out of range."""
    CHECKS[func](args, kwargs, real)


# Calls whose output size is a function of a real tensor's values.
BY_VALUES: frozenset = frozenset(resolve(torch, ("masked_select", "repeat_interleave")) + resolve(
    Tensor, ("__getitem__", "masked_select", "repeat_interleave")))
MAX_ELEMENTS = 1 << 20  # the data's size up to which the CPU call is made (its output is at most as large)


def by_values(func: Any, args: tuple, kwargs: dict, real: Real) -> Any:
    """The call on the CPU, its meta data tensor (the first argument) as zeros that take no
    memory, the result as a meta tensor; NotImplemented when it is not such a call: the
    data is not on meta or too large, or a mask, index or repeats tensor is itself on meta
    (made from the weights: its values, which decide the size, are unknown, and zeros in
    their place would give a wrong size silently)."""
    data = args[0] if args else None
    rest = call_tensors(args[1:], kwargs)
    if not isinstance(data, Tensor) or not data.is_meta or data.numel() > MAX_ELEMENTS:
        return NotImplemented
    if not rest or any(t.is_meta or not real(t) for t in rest):
        return NotImplemented
    out = func(torch.zeros((), dtype=data.dtype).expand(data.shape), *args[1:], **kwargs)
    if not isinstance(out, Tensor):
        return NotImplemented
    return torch.empty_like(out, device=META).requires_grad_(out.is_floating_point() and data.requires_grad)

