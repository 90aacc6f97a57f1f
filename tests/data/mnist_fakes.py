"""Small generated MNIST folders for the data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_fake_mnist(folder: Path, n_train: int = 12, n_test: int = 7, *, gz: bool = True, seed: int = 0) -> dict:
    """Four small IDX files with MNIST's names (random pixels, labels 0..9)."""
    from shapetrace.data.mnist import FILES, write_idx

    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.items():
        name = FILES[key][0] if gz else FILES[key][0][:-3]
        write_idx(folder / name, arr, compress=gz)
    return arrays
