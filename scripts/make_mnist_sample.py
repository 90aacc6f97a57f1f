"""Make the bundled MNIST sample (src/shapetrace/data/sample/) from the real test set.

    python scripts/make_mnist_sample.py [--data ../shared/data/mnist]

1,000 digits of the MNIST *test* set, 100 per class, picked with a fixed seed, stored
as two gzip IDX files (the same format the reader reads). Order: 800 digits (80 per
class, shuffled) that ``load_sample()`` calls its training split, then 200 (20 per
class, shuffled), its test split. Re-running gives the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from shapetrace.data.mnist import SAMPLE_DIR, SAMPLE_FILES, SAMPLE_TRAIN, load_mnist, write_idx

PER_CLASS = 100
SEED = 20240501


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"))
    args = parser.parse_args()
    mnist = load_mnist(args.data, download=False)
    rng = np.random.default_rng(SEED)
    train_part = SAMPLE_TRAIN // 10
    first, second = [], []
    for digit in range(10):
        idx = np.flatnonzero(mnist.test_labels == digit)
        pick = np.sort(rng.choice(idx, size=PER_CLASS, replace=False))
        rng.shuffle(pick)
        first.append(pick[:train_part])
        second.append(pick[train_part:])
    a, b = np.concatenate(first), np.concatenate(second)
    rng.shuffle(a)
    rng.shuffle(b)
    order = np.concatenate([a, b])
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    write_idx(SAMPLE_DIR / SAMPLE_FILES["images"], mnist.test_images[order])
    write_idx(SAMPLE_DIR / SAMPLE_FILES["labels"], mnist.test_labels[order].astype(np.uint8))
    (SAMPLE_DIR / "INDICES.txt").write_text(
        "# indices into the MNIST test set (t10k), in the order of the sample\n"
        + "\n".join(str(int(i)) for i in order) + "\n")
    for name in SAMPLE_FILES.values():
        print(f"{SAMPLE_DIR / name}: {(SAMPLE_DIR / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
