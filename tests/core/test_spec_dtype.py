"""A spec's memory columns use its dtype's element size for weights as for outputs (a float16
spec's 80 parameters are 160 bytes, not 320); torch's own parameters are the oracle."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from shapetrace import flow

LAYERS = [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "Flatten"},
          {"type": "Linear", "out_features": 2}]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_param_bytes_follow_the_spec_dtype(dtype):
    report = flow({"input": [1, 1, 5, 5], "dtype": dtype, "layers": LAYERS})
    assert report.ok
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(36, 2)).to(getattr(torch, dtype))
    expected = sum(p.numel() * p.element_size() for p in model.parameters())
    assert report.totals.param_bytes == expected
    assert sum(r.param_bytes for r in report.rows if r.leaf) == expected
