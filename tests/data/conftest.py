from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

# The full MNIST shared by this project's machines: ../shared/data/mnist from the repo root.
SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


@pytest.fixture
def shared_mnist() -> Path:
    assert (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file(), f"shared MNIST missing at {SHARED_MNIST}"
    return SHARED_MNIST
