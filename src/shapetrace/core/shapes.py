"""Shapes as maths: their text and torch's broadcasting, defined once for the core, the
tracer and the renderers (``render/fmt.shape_text`` adds the layouts on top); and
shape-like argument values read from YAML/JSON or the command line (``as_tuples``).
Light on purpose (no other import): the CLI imports it before anything else.

Broadcasting as torch does it (https://pytorch.org/docs/stable/notes/broadcasting.html,
aten's ``infer_size``): align the shapes on the right, pad the shorter with 1s; each pair
of sizes must be equal or one of them 1, and the result takes the larger.
"""

from __future__ import annotations

from typing import Any, Sequence

Shape = tuple[int, ...]


def wrap_dim(d: int, rank: int) -> int | None:
    """``d`` as torch wraps a dimension of a ``rank``-dimensional tensor (``maybe_wrap_dim``:
    -1 is the last; a 0-d tensor takes -1 and 0), or None where torch says it is out of range
    (``dim_out_of_range``)."""
    size = max(rank, 1)
    if not -size <= d < size:
        return None
    return d + size if d < 0 else d


def dim_out_of_range(d: int, rank: int) -> str:
    """torch's words for a dimension ``wrap_dim`` refuses."""
    size = max(rank, 1)
    return f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], but got {d})"


def fmt_shape(shape: Sequence[int]) -> str:
    """``(1, 32, 28, 28)``; one element as Python writes a 1-tuple: ``(5,)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def padded(a: Sequence[int], b: Sequence[int]) -> tuple[Shape, Shape]:
    """Both shapes left-padded with 1s to the same rank."""
    n = max(len(a), len(b))
    return (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)


def mismatched_dims(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """The dims (of the padded shapes, left to right) where ``a`` and ``b`` do not broadcast."""
    pa, pb = padded(a, b)
    return [i for i, (x, y) in enumerate(zip(pa, pb)) if x != y and x != 1 and y != 1]


def broadcast(a: Sequence[int], b: Sequence[int]) -> Shape | None:
    """The shape of ``a + b``; None when the shapes do not broadcast."""
    pa, pb = padded(a, b)
    out = []
    for x, y in zip(pa, pb):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


def as_tuples(v: Any) -> Any:
    """Lists (from YAML/JSON or the command line) as tuples, nested too, as torch's
    constructors take their int-or-tuple arguments (``kernel_size: [3, 3]``)."""
    if isinstance(v, list):
        return tuple(as_tuples(x) for x in v)
    return v
