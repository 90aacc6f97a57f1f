"""The brute-force oracles run thousands of tiny forwards: one intra-op thread makes each
one far cheaper on a shared machine (threads that wait on each other cost more than the
work). Restored after the tests of this folder."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
