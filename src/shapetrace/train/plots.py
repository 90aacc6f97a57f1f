"""curves.png (loss and accuracy per epoch) and confusion.png, with matplotlib's Agg backend
(no display needed), written atomically. torch-free."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_curves(path: str | os.PathLike, history: Sequence[dict[str, Any]]) -> Path:
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train (smoothed targets, augmented)")
    ax_loss.plot(epochs, [h["test_loss"] for h in history], "s-", label="test")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_title("Loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * h["train_acc"] for h in history], "o-", label="train")
    ax_acc.plot(epochs, [100 * h["test_acc"] for h in history], "s-", label="test")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    best = max(history, key=lambda h: h["test_acc"])
    ax_acc.set_title(f"Accuracy (best test {100 * best['test_acc']:.2f}% at epoch {best['epoch']})")
    ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.set_xticks(epochs if len(epochs) <= 20 else epochs[:: max(1, len(epochs) // 10)])
    fig.tight_layout()
    return _save(fig, path, plt)


def plot_confusion(path: str | os.PathLike, matrix: Sequence[Sequence[int]], title: str = "") -> Path:
    """Rows: true digit; columns: predicted digit; counts in the cells."""
    import numpy as np

    plt = _pyplot()
    m = np.asarray(matrix, dtype=np.int64)
    total = int(m.sum())
    acc = float(np.trace(m)) / total if total else 0.0
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    # colour by the log of the counts so that the few errors stay visible next to the diagonal
    im = ax.imshow(np.log1p(m), cmap="Blues")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if i == j else "darkred")
    ax.set_xticks(range(m.shape[1]))
    ax.set_yticks(range(m.shape[0]))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title or f"Confusion matrix: {total - int(np.trace(m))} errors in {total} ({100 * acc:.2f}%)")
    fig.colorbar(im, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    return _save(fig, path, plt)


def _save(fig, path: str | os.PathLike, plt) -> Path:
    p = Path(path)
    try:
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return p
