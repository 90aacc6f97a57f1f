from __future__ import annotations

from pathlib import Path

import pytest

# The depth experiment's golden files live beside its tests.
GOLDEN_DIR = Path(__file__).parent / "golden"


@pytest.fixture
def golden_dir() -> Path:
    return GOLDEN_DIR
