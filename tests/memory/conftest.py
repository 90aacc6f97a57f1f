"""Small real steps: one intra-op thread is as fast and does not fight other workers for the
cores (tests/conftest.py's ``one_torch_thread``, for every test of this folder)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    yield
