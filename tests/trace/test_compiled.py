"""Models wrapped by torch's compilers (torchinfo issues 55 and 277): a torch.compile'd
model is traced through its original module and the report says so; a TorchScript
module is one clear error, never a traceback."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.trace.failures import ModelError

from .real_state import differences, global_state, model_state
from .test_zoo import module_rows, oracle

# torch.jit says it is deprecated (in favour of torch.compile) each time it scripts; still in use
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_compiled_model_is_traced_through_its_original_module(device: str) -> None:
    net = _net().eval()
    compiled = torch.compile(net)  # nothing compiles until it is called; the trace never calls it
    x = torch.randn(2, 3, 8, 8)
    before_model, before_global = model_state(compiled), global_state()
    report = shapetrace.summary(compiled, input_data=x, device=device)
    assert differences(before_model, model_state(compiled)) == []
    assert differences(before_global, global_state()) == []
    assert report.ok, report.error
    assert report.model == "Sequential"
    assert module_rows(report) == oracle(net, (x,), {})
    assert [w.code for w in report.warnings] == ["compiled"]
    assert "_orig_mod" in report.warnings[0].message


def test_a_compiled_submodule_is_a_clear_error() -> None:
    outer = nn.Sequential(torch.compile(nn.Linear(4, 4)), nn.ReLU())
    with pytest.raises(ModelError, match=r"`0` .*torch.compile'd submodule"):
        shapetrace.summary(outer, (2, 4))


@pytest.mark.parametrize("make", ["script", "trace"])
@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_torchscript_module_is_one_clear_error(make: str, device: str) -> None:
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    scripted = torch.jit.script(net) if make == "script" else torch.jit.trace(net, torch.randn(1, 4))
    with pytest.raises(ModelError, match="TorchScript module .* no Python hooks") as e:
        shapetrace.summary(scripted, (2, 4), device=device)
    assert "\n" not in str(e.value)


def test_a_scripted_submodule_is_named() -> None:
    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = torch.jit.script(nn.Linear(4, 2))

        def forward(self, x):
            return self.head(x)

    with pytest.raises(ModelError, match="`head` .*TorchScript"):
        shapetrace.summary(Outer(), (2, 4), device="cpu")
