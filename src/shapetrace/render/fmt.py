"""Numbers and shapes as text."""

from __future__ import annotations

from typing import Sequence, TypeVar

from ..core.shapes import fmt_shape
from .options import Layout


T = TypeVar("T")


def laid_out(dims: Sequence[T], shape: Sequence[int], layout: Layout, batch: int | None) -> tuple[T, ...]:
    """One entry per dim of ``shape`` (its sizes, or a formula per size) in ``layout``: the
    one rule of ``hwc``. Dim 0 goes when it equals the input's batch size (so a view that
    changed the batch still shows it), then image-like tensors put channels last:
    (C, H, W) -> (H, W, C), (C, D, H, W) -> (D, H, W, C)."""
    d = tuple(dims)
    if layout is Layout.HWC:
        if batch is not None and len(shape) >= 2 and shape[0] == batch:
            d = d[1:]
        if len(d) in (3, 4):
            d = d[1:] + d[:1]
    return d


def shape_text(shape: Sequence[int] | None, layout: Layout = Layout.NCHW, batch: int | None = None,
               *, seed_style: bool = False) -> str:
    """A shape as text (``core.shapes.fmt_shape`` in a layout, ``laid_out``). ``hwc`` drops
    the batch and puts channels last for image-like tensors: (1, 32, 28, 28) -> (28, 28, 32);
    (1, 1152) -> (1152,).

    ``seed_style`` writes a one-element shape as the seed's table does: ``(1152, )``.
    """
    if shape is None:
        return ""
    s = laid_out(tuple(int(d) for d in shape), shape, layout, batch)
    if len(s) == 1 and seed_style:
        return f"({s[0]}, )"
    return fmt_shape(s)


def shapes_text(shapes: Sequence[Sequence[int]], layout: Layout, batch: int | None, *,
                seed_style: bool = False) -> str:
    return ", ".join(shape_text(s, layout, batch, seed_style=seed_style) for s in shapes)


def int_text(n: int | None, *, zero: str = "--", unknown: str = "?") -> str:
    if n is None:
        return unknown
    if n == 0:
        return zero
    return f"{n:,}"


def si(n: float) -> str:
    """1234567 -> '1.23 M' (for MACs: K, M, G, T, P, E; 2.1e16 was '21475.00 T')."""
    for unit, scale in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:g}"


def bytes_text(n: int | None, *, zero: str = "--") -> str:
    """Binary units: 100352 -> '98.0 KiB'."""
    if n is None:
        return "?"
    if n == 0:
        return zero
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):  # 2**63 bytes was "8388608.0 TiB"
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} EiB"


def rf_text(rf) -> str:
    """ReceptiveField -> '7x7' (size), with ', jump 2' when outputs are more than a pixel apart."""
    if rf is None:
        return ""
    size = "x".join(str(s) for s in rf.size)
    jumps = set(rf.jump)
    if jumps == {1}:
        return size
    jump = str(rf.jump[0]) if len(jumps) == 1 else "x".join(str(j) for j in rf.jump)
    return f"{size}, jump {jump}"
