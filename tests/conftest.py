"""Shared test options and settings.

``--update-goldens`` rewrites the golden files (tests/render/golden/*) from the current
output instead of comparing against them; review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Every property test is deterministic (the examples follow from the test's name), so CI
# and a laptop see the same cases; no per-example deadline (torch's first calls are slow).
settings.register_profile("shapetrace", derandomize=True, deadline=None, database=None, print_blob=True)
settings.load_profile("shapetrace")

GOLDEN_DIR = Path(__file__).parent / "render" / "golden"
REPO = Path(__file__).resolve().parents[1]


def find_shared_mnist() -> Path:
    """The full MNIST of this project's machines (tests and benchmarks only; the package never
    reads it): ``$SHAPETRACE_TEST_MNIST``, else ``../shared/data/mnist`` from the repo root,
    else ``/work/shared/data/mnist`` (the same folder, for a clone made elsewhere)."""
    env = os.environ.get("SHAPETRACE_TEST_MNIST")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data" / "mnist", Path("/work/shared/data/mnist")]
    for c in candidates:
        if (c / "train-images-idx3-ubyte.gz").is_file():
            return c
    return candidates[0]


SHARED_MNIST = find_shared_mnist()


@pytest.fixture(scope="session")
def shared_mnist() -> Path:
    """The shared MNIST folder when there is one; else the four files downloaded into the user
    cache (``~/.cache/shapetrace/mnist``, or under ``$XDG_CACHE_HOME``), each verified by the
    sha256 of its content and fetched again when it differs (``shapetrace.data.mnist.ensure_mnist``).
    Offline without either, the test fails with the download's error (it is not skipped)."""
    if (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file():
        return SHARED_MNIST
    from shapetrace.data.mnist import ensure_mnist

    return ensure_mnist()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite tests/render/golden/* from the current output")


@pytest.fixture
def golden_dir() -> Path:
    """Where ``golden`` keeps its files; a test folder may override this fixture."""
    return GOLDEN_DIR


@pytest.fixture
def golden(request: pytest.FixtureRequest, golden_dir: Path):
    """``golden(name, text)``: compare ``text`` with <golden_dir>/<name> (or rewrite it
    with --update-goldens). A missing golden file is a failure, not a skip."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = golden_dir / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.is_file(), f"golden file {path} is missing; run pytest --update-goldens"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file (pytest --update-goldens rewrites it)"

    return check


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small tensors: one thread is as fast, and two xdist workers do not fight over 2 cores.
    (torch is imported here, not at the top: some tests run where torch is unavailable.)"""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
