"""The depth experiment's pictures, from its results (plain numbers; no torch).

* ``loss_curves.png``: training loss vs step, one line per depth; columns plain and
  residual, rows without and with BatchNorm.
* ``grad_norms_init.png`` / ``grad_norms_train.png``: the gradient norm of every
  weighted layer, input side (layer 1, the stem conv) to output side (the Linear head),
  on a log scale: at initialisation, and the median over the steps recorded in training.

matplotlib's object API (``Figure``, no pyplot state), written atomically.
"""

from __future__ import annotations

import math
import os
import statistics
from pathlib import Path
from typing import Any, Sequence

from ..atomic import atomic_path
from .depth import find

DPI = 80


def _colors(depths: Sequence[int]) -> dict[int, Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = len(depths)
    # shallow = yellow-green, deep = dark blue; spaced so that 2 or 3 depths stay distinct
    return {d: cmap(0.85 - 0.75 * i / max(1, n - 1)) for i, d in enumerate(sorted(depths))}


def _grid(results: dict[str, Any]) -> tuple[list[bool], list[str], list[int]]:
    runs = results["runs"]
    bns = sorted({r["batchnorm"] for r in runs})
    kinds = [k for k in ("plain", "residual") if any(r["kind"] == k for r in runs)]
    depths = sorted({r["depth"] for r in runs})
    return bns, kinds, depths


def _bn_text(bn: bool) -> str:
    return "with BatchNorm" if bn else "without BatchNorm"


def moving_average(values: Sequence[float | None], window: int) -> list[float]:
    """Trailing mean over ``window`` steps (fewer at the start); None (a non-finite loss) -> nan."""
    xs = [math.nan if v is None else float(v) for v in values]
    out = []
    for i in range(len(xs)):
        buf = xs[max(0, i + 1 - window): i + 1]
        out.append(sum(buf) / len(buf) if all(math.isfinite(b) for b in buf) else math.nan)
    return out


def plot_loss_curves(results: dict[str, Any], path: str | os.PathLike) -> Path:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    bns, kinds, depths = _grid(results)
    colors = _colors(depths)
    steps = results["config"]["steps"]
    window = max(1, steps // 25)
    fig = Figure(figsize=(4.6 * len(kinds), 3.3 * len(bns)), dpi=DPI)
    axes = fig.subplots(len(bns), len(kinds), squeeze=False, sharex=True, sharey="row")
    for i, bn in enumerate(bns):
        curves = {(kind, d): moving_average(r["curve"]["loss"], window) for kind in kinds for d in depths
                  if (r := find(results, kind, d, bn)) is not None}
        top = loss_axis_top(curves.values())
        for j, kind in enumerate(kinds):
            ax = axes[i][j]
            for d in depths:
                ys = curves.get((kind, d))
                if ys is None:
                    continue
                peak = max((y for y in ys if math.isfinite(y)), default=math.nan)
                label = f"{kind}-{d}" + (f" (starts off the scale: {peak:.3g})" if peak > 1.5 * top else "")
                ax.plot(range(1, len(ys) + 1), ys, color=colors[d], lw=1.8, label=label)
            ax.set_ylim(0, top)
            ax.set_title(f"{kind}, {_bn_text(bn)}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize=8, loc="best")
            if i == len(bns) - 1:
                ax.set_xlabel("training step")
            if j == 0:
                ax.set_ylabel(f"training loss (mean of {window} steps)" if window > 1 else "training loss")
    fig.suptitle("Training loss by depth: plain vs residual (same steps, same batches)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def loss_axis_top(curves: Any) -> float:
    """The loss axis's upper end: what the curves reach after their first quarter, so that a
    net starting with a huge loss (He init, no BatchNorm) does not flatten the others."""
    late = [y for ys in curves for y in ys[len(ys) // 4:] if math.isfinite(y)]
    return max(2.6, 1.1 * max(late, default=0.0))  # 2.6 > ln(10), the loss of a uniform guess


def plot_grad_norms(results: dict[str, Any], path: str | os.PathLike, *, which: str = "init") -> Path:
    """``which``: "init" (float64, one probe batch) or "train" (median over the recorded steps)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if which not in ("init", "train"):
        raise ValueError(f"which must be 'init' or 'train', got {which!r}")
    bns, kinds, depths = _grid(results)
    colors = _colors(depths)
    fig = Figure(figsize=(4.6 * len(kinds), 3.3 * len(bns)), dpi=DPI)
    axes = fig.subplots(len(bns), len(kinds), squeeze=False, sharey="row")
    for i, bn in enumerate(bns):
        for j, kind in enumerate(kinds):
            ax = axes[i][j]
            for d in depths:
                r = find(results, kind, d, bn)
                if r is None:
                    continue
                norms = r["grad_norm_init"] if which == "init" else median_train_norms(r)
                ys = [v if (v is not None and v > 0 and math.isfinite(v)) else math.nan for v in norms]
                zeros = sum(1 for v in norms if v == 0)
                label = f"{kind}-{d}" + (f" ({zeros} layers at 0)" if zeros else "")
                ax.plot(range(1, len(ys) + 1), ys, "o-", ms=2.5, lw=1.2, color=colors[d], label=label)
            ax.set_yscale("log")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"{kind}, {_bn_text(bn)}", fontsize=10)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8, loc="best")
            if i == len(bns) - 1:
                ax.set_xlabel("weighted layer (1 = first conv, input side)")
            if j == 0:
                ax.set_ylabel("||dL/dW|| (log scale)")
    title = ("Per-layer gradient norm at initialisation (one batch, float64)" if which == "init"
             else "Per-layer gradient norm during training (median over the recorded steps)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def median_train_norms(record: dict[str, Any]) -> list[float | None]:
    """Each layer's median gradient norm over the steps recorded during training."""
    rows = [row for row in record["grad_norm_train"]["norms"] if all(v is not None for v in row)]
    if not rows:
        return [None] * len(record["layers"])
    return [statistics.median(col) for col in zip(*rows)]


def _save(fig: Any, path: str | os.PathLike) -> Path:
    """PNG with a 128-colour palette (Pillow): a few lines on white need no more, and the
    file is about a third of the RGBA one, small enough to commit under docs/images."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    buf.seek(0)
    with Image.open(buf) as img:
        small = img.convert("RGB").quantize(colors=128)
    p = Path(path)
    with atomic_path(p) as tmp:
        small.save(tmp, format="PNG", optimize=True)
    return p


def write_all(results: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Path]:
    out = Path(out_dir)
    return {
        "loss_curves": plot_loss_curves(results, out / "loss_curves.png"),
        "grad_norms_init": plot_grad_norms(results, out / "grad_norms_init.png", which="init"),
        "grad_norms_train": plot_grad_norms(results, out / "grad_norms_train.png", which="train"),
    }
