"""placement.meta_twin: every meta trace of a model after the first swaps in the same meta
twins of its tensors, and a new twin is made whenever the tensor or the twin changed, so a
trace never sees a stale shape, dtype or flag."""

from __future__ import annotations

import gc

import torch
from torch import nn

import shapetrace
from shapetrace.trace import placement


def _twins_of(model: nn.Module) -> list:
    out = []
    for t in list(model.parameters()) + list(model.buffers()):
        entry = placement._TWINS.get(t)
        out.append(entry[1] if entry is not None else None)
    return out


def test_a_second_trace_reuses_the_twins_and_reports_the_same():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    first = shapetrace.summary(model, input_size=(2, 3, 8, 8))
    twins = _twins_of(model)
    assert all(t is not None and t.is_meta for t in twins)
    second = shapetrace.summary(model, input_size=(2, 3, 8, 8))
    assert all(a is b for a, b in zip(twins, _twins_of(model)))
    assert [r.to_dict() for r in first.rows] == [r.to_dict() for r in second.rows]
    assert all(not t.is_meta for t in model.parameters())  # the user's weights stay where they were


def test_a_changed_tensor_gets_a_new_twin():
    model = nn.Sequential(nn.Linear(6, 4))
    shapetrace.summary(model, input_size=(1, 6))
    old = _twins_of(model)[0]
    with torch.no_grad():
        model[0].weight.data = torch.randn(4, 6, dtype=torch.float64)  # same object, another dtype
        model[0].bias.data = model[0].bias.data.double()
    report = shapetrace.summary(model, input_size=(1, 6), dtypes=[torch.float64])
    new = _twins_of(model)[0]
    assert new is not old and new.dtype == torch.float64
    assert report.ok and report.rows[-1].param_bytes == (4 * 6 + 4) * 8
    model[0].weight.requires_grad_(False)
    report = shapetrace.summary(model, input_size=(1, 6), dtypes=[torch.float64])
    assert report.totals.trainable_params == 4  # the twin follows the flag


class Resizes(nn.Module):
    """A forward that changes what it is given: the weight it sees becomes (3, 6)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 6))

    def forward(self, x):
        out = torch.nn.functional.linear(x, self.w)  # the output's shape is the weight's
        self.w.data = torch.empty(3, 6, device=self.w.device)
        self.w.flag = True
        return out


def test_a_twin_the_forward_changed_is_not_used_again():
    model = Resizes()
    for _ in range(3):
        report = shapetrace.summary(model, input_size=(2, 6))
        assert report.ok and report.rows[-1].output_shapes == [(2, 4)]
    assert model.w.shape == (4, 6) and not hasattr(model.w, "flag")  # the user's weight is untouched


def test_twins_leave_with_their_tensors():
    model = nn.Linear(3, 3)
    shapetrace.summary(model, input_size=(1, 3))
    keys = [id(p) for p in model.parameters()]
    assert all(p in placement._TWINS for p in model.parameters())
    before = len(placement._TWINS)
    del model
    gc.collect()
    assert not any(k in placement._TWINS._store for k in keys)  # the entries left, not only went stale
    assert len(placement._TWINS) <= before - len(keys)
