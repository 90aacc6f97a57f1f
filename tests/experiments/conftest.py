from __future__ import annotations

from pathlib import Path

import pytest

# The full MNIST shared by this project's machines: ../shared/data/mnist from the repo root.
SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
GOLDEN_DIR = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def shared_mnist() -> Path:
    assert (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file(), f"shared MNIST missing at {SHARED_MNIST}"
    return SHARED_MNIST


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden(name, text)``: compare with tests/experiments/golden/<name>, or rewrite it
    with ``pytest --update-goldens`` (the option of tests/conftest.py)."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.is_file(), f"golden file {path} is missing; run pytest --update-goldens"
        assert text == path.read_text(encoding="utf-8"), \
            f"{name} differs from its golden file (pytest --update-goldens rewrites it)"

    return check
