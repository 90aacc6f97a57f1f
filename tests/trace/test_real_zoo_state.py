"""A trace leaves the user's model and torch's global state exactly as they were, on every
device and in both modes: BatchNorm's running statistics in train mode, buffers a forward
updates in place, the RNG dropout draws from, and global settings a forward changes."""

from __future__ import annotations

import random
import threading
import time

import pytest
import torch
from torch import nn

import shapetrace

from .real_state import differences, global_state, model_state
from .real_zoo import CASES, built

DEVICES = ["meta", "cpu", "auto"]
MODES = ["eval", "train"]


def check_unchanged(model: nn.Module, **kw) -> shapetrace.Report:
    before_model, before_global = model_state(model), global_state()
    report = shapetrace.summary(model, **kw)
    assert differences(before_model, model_state(model)) == []
    assert differences(before_global, global_state()) == []
    return report


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["tv_inception_v3", "tv_resnet18", "resnet"])
def test_batchnorm_statistics_survive_a_trace(name: str, device: str, mode: str, one_torch_thread) -> None:
    """Train mode updates running_mean, running_var and num_batches_tracked on CPU."""
    report = check_unchanged(built(name), input_data=CASES[name].input_data(), device=device, mode=mode)
    assert report.ok, report.error


class Stateful(nn.Module):
    """A forward that changes its own buffers in place and draws random numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.drop = nn.Dropout(0.5)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("ema", torch.zeros(4))

    def forward(self, x):
        self.steps += 1
        self.ema.mul_(0.9).add_(x.mean(0).detach(), alpha=0.1)
        noise = torch.rand_like(x)  # the global RNG, in eval mode too
        return self.drop(self.fc(x + noise))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("device", DEVICES)
def test_in_place_buffer_updates_and_the_rng_are_put_back(device: str, mode: str) -> None:
    model = Stateful().eval()
    report = check_unchanged(model, input_size=(3, 4), device=device, mode=mode)
    assert report.ok, report.error
    assert not model.training


class GlobalSetter(nn.Module):
    """A forward that changes torch's global settings and does not put them back."""

    def __init__(self, change: str) -> None:
        super().__init__()
        self.change = change
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if self.change == "default_dtype":
            torch.set_default_dtype(torch.float64)
        elif self.change == "default_device":
            torch.set_default_device("meta")
        elif self.change == "manual_seed":
            torch.manual_seed(1234)
        elif self.change == "threads":
            torch.set_num_threads(torch.get_num_threads() + 1)
        elif self.change == "grad":
            torch.set_grad_enabled(False)
        elif self.change == "python_rng":
            random.random()
        elif self.change == "deterministic":
            torch.use_deterministic_algorithms(not torch.are_deterministic_algorithms_enabled())
        return self.fc(x)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("change", ["default_dtype", "default_device", "manual_seed", "threads", "grad",
                                    "deterministic", "python_rng"])
def test_global_settings_a_forward_changes_are_put_back(change: str, device: str, mode: str) -> None:
    check_unchanged(GlobalSetter(change), input_size=(2, 4), device=device, mode=mode)


@pytest.mark.parametrize("device", DEVICES)
def test_state_is_put_back_when_the_forward_fails(device: str) -> None:
    """A forward that changes state and then raises: the report carries the error, and
    nothing it changed survives."""

    class Fails(Stateful):
        def forward(self, x):
            super().forward(x)
            torch.set_default_dtype(torch.float64)
            return self.fc(x[:, :3])  # Linear(4, 4) on 3 features: a shape error

    model = Fails()
    report = check_unchanged(model, input_size=(3, 4), device=device, mode="train")
    assert not report.ok


class ClipsItsWeights(nn.Module):
    """A forward that changes its own parameter in place (weight clipping)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        self.fc.weight.clamp_(-0.1, 0.1)
        return self.fc(x)


@pytest.mark.parametrize("device", DEVICES)
def test_weights_a_forward_changes_in_place_are_left_alone_or_said(device: str) -> None:
    """On meta the forward changes meta copies; on the CPU it runs on the user's own weights
    (copying them would double the memory), and the report names what changed."""
    model = ClipsItsWeights()
    before = model.fc.weight.detach().clone()
    report = shapetrace.summary(model, input_size=(2, 4), device=device)
    assert report.ok, report.error
    said = [w for w in report.warnings if w.code == "weights_changed"]
    if device == "meta":
        assert said == [] and torch.equal(model.fc.weight, before)
    else:
        assert not torch.equal(model.fc.weight, before)
        assert [w.row for w in said] == ["fc.weight"] and "in place" in said[0].message


class GrowsItself(nn.Module):
    """A forward that adds to its module's own containers: a submodule on the first call, a
    hook, a non-persistent buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if not hasattr(self, "head"):
            self.head = nn.Linear(4, 2)
        self.fc.register_forward_hook(lambda *args: None)
        self.register_buffer("scratch", torch.zeros(1), persistent=False)
        return self.head(self.fc(x))


class GivesItsWeightsNewData(nn.Module):
    """A forward that gives its parameters new tensors through ``.data`` (clipping done the
    old way; a slice), which bumps no version counter, and changes their flags, gradient and
    attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        self.fc.weight.data = self.fc.weight.data.clamp(-0.01, 0.01)
        self.fc.bias.data = self.fc.bias.data[:2]
        self.fc.weight.requires_grad_(False)  # and flags and attributes of its own
        self.fc.bias.tag = "seen"
        if not self.fc.bias.is_meta:  # a meta trace's weights are meta: no CPU grad to give them
            self.fc.bias.grad = torch.ones(2)
        return x * self.fc.weight.sum()


@pytest.mark.parametrize("cls", [GrowsItself, GivesItsWeightsNewData])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("device", DEVICES)
def test_what_a_forward_adds_or_gives_new_data_is_undone(cls: type, device: str, mode: str) -> None:
    model = cls()
    report = check_unchanged(model, input_size=(3, 4), device=device, mode=mode)
    assert report.ok, report.error
    with torch.no_grad():
        assert report.rows[0].output_shapes == [tuple(cls()(torch.zeros(3, 4)).shape)]  # a fresh one
    assert [w.code for w in report.warnings if w.code == "weights_changed"] == []
    assert [n for n, _ in model.named_modules()] == ["", "fc"]
    assert not model.fc._forward_hooks and not model._non_persistent_buffers_set


class Slow(nn.Module):
    """A forward that takes its time, so that traces in other threads overlap it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        time.sleep(0.005)
        return self.bn(self.fc(x))


def test_traces_in_several_threads_at_once_leave_the_model_and_torch_as_they_were() -> None:
    """Each trace swaps meta tensors and hooks into the model and changes torch's settings
    while it runs: two at once used to swap in each other's (meta weights left on the model)."""
    model = Slow()
    before_model, before_global = model_state(model), global_state()
    failures: list[str] = []

    def work(device: str) -> None:
        try:
            for _ in range(4):
                if device == "memory":
                    shapetrace.train_memory(model, (3, 4))
                    continue
                report = shapetrace.summary(model, input_size=(3, 4), device=device, mode="train")
                if not report.ok:
                    failures.append(report.error.message)
        except Exception as e:  # noqa: BLE001 - collected, asserted below
            failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=work, args=(d,)) for d in ("meta", "meta", "cpu", "auto", "memory")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert differences(before_model, model_state(model)) == []
    assert differences(before_global, global_state()) == []
