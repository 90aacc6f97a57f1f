"""The oracle of tests/symbolic: a real CPU forward (batch 1, no_grad) at every size of a
grid, compared with the accepted set exactly. A size is accepted when the forward raises
nothing and the output keeps the batch size (the tracer's batch-fold check)."""

from __future__ import annotations

import itertools
from typing import Iterable, Sequence

import torch

# What torch raises for a size a layer cannot take (shape checks are RuntimeError or
# ValueError; an Embedding index past its table is IndexError).
FAILURES = (RuntimeError, ValueError, IndexError)


def forward_accepts(model, shape: Sequence[int], dims: Sequence[int], sizes: Sequence[int],
                    dtype: torch.dtype = torch.float32) -> bool:
    s = list(shape)
    for d, x in zip(dims, sizes):
        s[d] = x
    x = torch.zeros(*s, dtype=dtype)
    try:
        with torch.no_grad():
            out = model(x)
    except FAILURES:
        return False
    return out.shape[0] == shape[0]


def edges(res, axis: int, top: int) -> set[int]:
    """Every size next to a box edge on ``axis`` (where an off-by-one would show)."""
    out = set()
    for b in res.boxes:
        lo, hi = b[axis]
        out.update(x for x in (lo - 1, lo, lo + 1, hi - 1, hi, hi + 1) if 1 <= x <= top)
    return out


def grid(res, tops: Sequence[int], step: int = 1, near_edges: bool = True) -> list[tuple[int, ...]]:
    """Every ``step``-th size of 1..top per axis, with every size next to a box edge, as points."""
    per = []
    for a, top in enumerate(tops):
        xs = set(range(1, top + 1, step)) | {top}
        per.append(sorted(xs | edges(res, a, top) if near_edges else xs))
    return list(itertools.product(*per))


def mismatches(res, model, points: Iterable[Sequence[int]], dtype=torch.float32) -> list[tuple[int, ...]]:
    """The points where the accepted set and the real forward disagree."""
    shape = res.input_shape
    return [tuple(p) for p in points
            if res.contains(p) != forward_accepts(model, shape, res.dims, p, dtype)]
