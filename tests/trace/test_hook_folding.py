"""On meta, a plain layer with no hooks gets the recorder's hooks called by its short cut
(trace/meta_fast.install_short_cut) instead of by torch. The rows must be those torch's
hooks give, on every device: the user's hooks still run first and what they return is what
the row sees; a layer called as ``layer.forward(x)`` runs no hooks, so it is no row; a
global module hook still runs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.trace import meta_fast

DEVICES = ["meta", "cpu"]


def rows(report: shapetrace.Report) -> list[tuple]:
    return [(r.name, r.kind, [tuple(s) for s in r.input_shapes], [tuple(s) for s in r.output_shapes])
            for r in report.rows]


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.act = nn.ReLU()
        self.out = nn.Linear(2, 3)

    def forward(self, x):
        return self.out(self.act(self.fc(x))[:, :2])


def test_the_folded_hooks_give_the_rows_torch_hooks_give() -> None:
    model, x = Net(), torch.randn(5, 4)
    on_meta, on_cpu = shapetrace.summary(model, input_data=x), shapetrace.summary(model, input_data=x, device="cpu")
    assert rows(on_meta) == rows(on_cpu)
    assert [r.name for r in on_meta.rows] == ["", "fc", "act", "getitem", "out"]
    assert on_meta.totals.macs == on_cpu.totals.macs


class Narrowed(Net):
    """A user's forward hook on ``fc`` replaces its output: the row sees the replacement."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple] = []
        self.fc.register_forward_pre_hook(lambda m, args: self.seen.append(tuple(args[0].shape)))
        self.fc.register_forward_hook(lambda m, args, out: out[:, :4])


@pytest.mark.parametrize("device", DEVICES)
def test_a_users_hooks_run_first_and_the_row_sees_what_they_return(device: str) -> None:
    model = Narrowed()
    report = shapetrace.summary(model, input_size=(5, 4), device=device)
    assert report.ok, report.error
    assert model.seen == [(5, 4)]
    fc = next(r for r in report.rows if r.name == "fc")
    assert fc.output_shapes == [(5, 4)]


class CallsForward(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc.forward(x))  # no hooks: torch records no call of fc


def test_a_layer_called_through_forward_is_no_row_on_any_device() -> None:
    model, x = CallsForward(), torch.randn(2, 4)
    on_meta, on_cpu = shapetrace.summary(model, input_data=x), shapetrace.summary(model, input_data=x, device="cpu")
    assert rows(on_meta) == rows(on_cpu)
    assert "fc" not in [r.name for r in on_meta.rows] and "act" in [r.name for r in on_meta.rows]


def test_a_global_module_hook_still_runs_and_nothing_is_folded_under_it() -> None:
    calls: list[str] = []
    handle = nn.modules.module.register_module_forward_hook(lambda m, args, out: calls.append(type(m).__name__))
    try:
        assert not meta_fast.no_hooks(nn.ReLU())
        report = shapetrace.summary(Net(), input_size=(5, 4))
    finally:
        handle.remove()
    assert report.ok, report.error
    assert calls == ["Linear", "ReLU", "Linear", "Net"]
    assert meta_fast.no_hooks(nn.ReLU())


def test_no_short_cut_or_hook_is_left_on_the_model() -> None:
    model = Net()
    shapetrace.summary(model, input_size=(5, 4))
    for m in model.modules():
        assert "forward" not in vars(m) and not m._forward_hooks and not m._forward_pre_hooks
