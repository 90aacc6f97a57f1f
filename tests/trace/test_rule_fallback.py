"""A torch.nn layer the core knows, in a call the core did not check (its input by keyword,
which its rule does not model, or ``core_checks=False``): the row's MACs and receptive field come
from the layer's rule (core/layers), not from a list of classes kept in the tracer."""

from __future__ import annotations

import torch
from torch import nn

import shapetrace
from shapetrace.core.api import compute


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.ReLU()
        self.norm = nn.LayerNorm(6)

    def forward(self, x):
        # by keyword: a call the core's rules do not model (they take one positional input)
        return self.norm(input=self.act(input=self.conv(x)))


def _row(report, name):
    return next(r for r in report.rows if r.name == name)


def test_an_unchecked_call_takes_macs_and_receptive_field_from_the_rule():
    for device in ("meta", "cpu"):
        report = shapetrace.summary(Net(), input_size=(2, 3, 8, 8), device=device)
        assert report.ok
        conv, act, norm = (_row(report, n) for n in ("conv", "act", "norm"))
        assert act.receptive_field == conv.receptive_field  # elementwise: it passes through
        assert act.macs == compute("ReLU", (2, 4, 6, 6)).macs
        assert norm.macs == compute("LayerNorm", (2, 4, 6, 6), normalized_shape=(6,)).macs
        assert norm.macs > 0  # a norm costs multiply-accumulates by its rule: not 0


def test_without_the_core_checks_the_rows_still_follow_the_rules():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
    on = shapetrace.summary(model, input_size=(1, 3, 10, 10))
    off = shapetrace.summary(model, input_size=(1, 3, 10, 10), core_checks=False)
    assert [(r.name, r.output_shapes, r.macs, r.receptive_field) for r in off.rows] == \
           [(r.name, r.output_shapes, r.macs, r.receptive_field) for r in on.rows]


def test_a_layer_without_a_rule_keeps_the_tracers_own_count():
    bag = nn.EmbeddingBag(10, 3, mode="sum")
    report = shapetrace.summary(bag, input_data=torch.tensor([[1, 2], [3, 4]]), device="cpu")
    assert report.ok and report.rows[0].macs == 0
    lstm = nn.LSTM(4, 5)
    report = shapetrace.summary(lstm, input_size=(3, 2, 4), device="cpu")
    assert report.rows[0].macs and report.rows[0].macs > 0
