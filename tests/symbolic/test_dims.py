"""Dimension arguments in the engine (``sizes``): torch wraps a dimension as
``maybe_wrap_dim`` does and refuses one out of range at every size; the engine wrapped
every dimension modulo the rank, so ``x.transpose(1, 5)`` on a 4-D input was "exact:
accepted" (and ``x.size(7)`` ended in an IndexError). Brute force is the oracle: a real
CPU forward at each size of a grid."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shapetrace.trace.symbolic_probe import analyze_model

from .oracle import forward_accepts


class Op(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


OPS = {
    "transpose(1, 5)": lambda x: x.transpose(1, 5), "transpose(-1, 1)": lambda x: x.transpose(-1, 1),
    "unsqueeze(7)": lambda x: x.unsqueeze(7), "unsqueeze(4)": lambda x: x.unsqueeze(4),
    "unsqueeze(-5)": lambda x: x.unsqueeze(-5), "unsqueeze(-6)": lambda x: x.unsqueeze(-6),
    "mean(6)": lambda x: x.mean(6), "mean((2, 3))": lambda x: x.mean((2, 3)),
    "sum((1, 9))": lambda x: x.sum((1, 9)), "sum((1, -3))": lambda x: x.sum((1, -3)),
    "softmax(5)": lambda x: x.softmax(5), "softmax(-1)": lambda x: x.softmax(-1),
    "F.softmax(dim=4)": lambda x: F.softmax(x, dim=4), "F.softmax(dim=-4)": lambda x: F.softmax(x, dim=-4),
    "torch.softmax(x, -5)": lambda x: torch.softmax(x, -5),
    "size(7)": lambda x: x.view(x.size(7), -1), "size(-1)": lambda x: x.view(x.size(-1), -1),
    "flatten(1, 9)": lambda x: x.flatten(1, 9), "flatten(2, 1)": lambda x: x.flatten(2, 1),
    "flatten(-3, -1)": lambda x: x.flatten(-3, -1),
    "permute(0, 1, 2, 7)": lambda x: x.permute(0, 1, 2, 7), "permute(0, 1, 1, 2)": lambda x: x.permute(0, 1, 1, 2),
    "permute(0, 1, 2)": lambda x: x.permute(0, 1, 2), "permute(0, -1, -2, 1)": lambda x: x.permute(0, -1, -2, 1),
    # by keyword: permute(dims=) was read as no order, transpose(dim0=, dim1=) and unsqueeze(dim=) raised IndexError
    "permute(dims=(0, 2, 3, 1))": lambda x: x.permute(dims=(0, 2, 3, 1)),
    "transpose(dim0=1, dim1=5)": lambda x: x.transpose(dim0=1, dim1=5),
    "transpose(dim0=1, dim1=-1)": lambda x: x.transpose(dim0=1, dim1=-1),
    "unsqueeze(dim=9)": lambda x: x.unsqueeze(dim=9), "unsqueeze(dim=1)": lambda x: x.unsqueeze(dim=1),
    "sum(dim=7)": lambda x: x.sum(dim=7), "mean(dim=(2, 3), keepdim=True)": lambda x: x.mean(dim=(2, 3), keepdim=True),
    "softmax(dim=7)": lambda x: x.softmax(dim=7),
    "size(dim=2)": lambda x: x.flatten(2).view(1, 3, x.size(dim=2), -1),
}


@pytest.mark.parametrize("name", list(OPS))
def test_a_dimension_is_taken_as_torch_takes_it(name) -> None:
    model = Op(OPS[name])
    res = analyze_model(model, (1, 3, 8, 8), max_size=9)
    assert res.exact, res.probed
    for h in range(1, 10):
        for w in range(1, 10):
            took = any(all(lo <= v <= hi for v, (lo, hi) in zip((h, w), box)) for box in res.boxes)
            assert took == forward_accepts(model, (1, 3, 8, 8), (2, 3), (h, w)), (name, h, w, res.error)
    if not res.boxes:
        assert res.error and ("out of range" in res.error or "more than once" in res.error
                              or "start_dim cannot come after end_dim" in res.error or "permute()" in res.error)


def test_a_shape_index_out_of_range_accepts_no_size() -> None:
    # x.shape[7] ended in an IndexError from the engine itself (a traceback in `sizes`)
    model = Op(lambda x: x.view(x.shape[7], -1))
    res = analyze_model(model, (1, 3, 8, 8), max_size=9)
    assert res.exact and not res.boxes and "tuple index out of range" in res.error
    assert analyze_model(Op(lambda x: x.view(x.shape[-4], -1)), (1, 3, 8, 8), max_size=9).boxes


def test_an_engine_failure_falls_back_to_probing(monkeypatch) -> None:
    # whatever the engine trips on, `sizes` answers with the real tracer, never a traceback
    import shapetrace.trace.symbolic_probe as sp

    def broken(self, row, name, args, kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(sp._Graph, "method", broken)
    model = Op(lambda x: x.transpose(-1, 1))
    res = analyze_model(model, (1, 3, 8, 8), max_size=9)
    assert not res.exact and "the engine failed (KeyError)" in res.probed["op"]
    assert all(any(all(lo <= v <= hi for v, (lo, hi) in zip(pt, box)) for box in res.boxes)
               == forward_accepts(model, (1, 3, 8, 8), (2, 3), pt)
               for pt in [(h, w) for h in res.probed["sizes"][0] for w in res.probed["sizes"][1]])
