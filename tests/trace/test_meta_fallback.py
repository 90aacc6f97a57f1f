"""What the meta device cannot hold, against a real CPU forward.

* A real one-value tensor that a call reads as a number (a size for ``view``, a start for
  ``narrow``, a fill value) is read as one on meta too: its meta copy has no value
  (Longformer's ``torch.div(n, 2 * w, rounding_mode="trunc")`` before a ``view``).
* A value the meta device does not have (computed from the weights) is not a shape error:
  torch's "Tensor.item() cannot be called on meta tensors" from inside a ``view`` was
  diagnosed as "view() cannot reshape (8, 512, 8) into rows of 1".
* The default device (None: meta) runs such a forward on the CPU when "auto" would (a
  small model on the CPU) and says so; an explicit ``device="meta"`` raises, and so does
  the default for a model that auto keeps on meta.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.trace import placement
from shapetrace.trace.failures import MetaLacksValues, ModelError

from .real_state import differences, global_state, model_state
from .test_zoo import module_rows, oracle


class Chunks(nn.Module):
    """``view`` given a one-value tensor made from the input's shape (a real CPU tensor)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        y = self.fc(x)
        n = torch.div(y.size(1), 2, rounding_mode="trunc")
        return y.view(y.size(0), n, 2, 8).sum(2)


class Narrows(nn.Module):
    """``narrow``'s start and ``full``'s fill value as one-value tensors of the input's values."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, start):
        y = self.fc(x).narrow(1, start[0], 2)
        return y + torch.full((2,), start[1])


class FromWeights(nn.Module):
    """A size read from a value the weights compute: meta has none."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        with torch.no_grad():
            self.fc.bias.fill_(1.0)
            self.fc.weight.zero_()

    def forward(self, x):
        y = self.fc(x)
        n = y.sum().long() // y.numel()  # 1 on the CPU
        return y.view(n, -1)


@pytest.mark.parametrize("given", ["input_size", "input_data"])
def test_a_one_value_tensor_given_for_a_size_is_read_as_its_number(given: str) -> None:
    x = torch.randn(3, 4, 8)
    kw = {"input_size": (3, 4, 8)} if given == "input_size" else {"input_data": x}
    meta = shapetrace.summary(Chunks(), device="meta", **kw)
    cpu = shapetrace.summary(Chunks(), device="cpu", **kw)
    assert meta.ok, meta.error
    assert module_rows(meta) == module_rows(cpu) == oracle(Chunks(), (x,), {})
    assert [r.output_shapes for r in meta.rows] == [r.output_shapes for r in cpu.rows]
    assert meta.rows[0].output_shapes == [(3, 2, 8)]


def test_a_start_and_a_fill_value_from_the_inputs_values() -> None:
    data = [torch.randn(2, 4), torch.tensor([1, 3])]
    meta = shapetrace.summary(Narrows(), input_data=data, device="meta")
    cpu = shapetrace.summary(Narrows(), input_data=data, device="cpu")
    assert meta.ok, meta.error
    assert [r.output_shapes for r in meta.rows] == [r.output_shapes for r in cpu.rows]
    assert any("reads tensor values" in w.message for w in meta.warnings)  # said, as every read is


def test_a_number_the_cpu_refuses_too_keeps_torchs_error() -> None:
    class BadSize(Chunks):
        def forward(self, x):
            y = self.fc(x)
            n = torch.div(y.size(1), 3, rounding_mode="trunc")  # 4 // 3 = 1: 1 x 3 x 8 != 4 x 8
            return y.view(y.size(0), n, 3, 8)

    meta = shapetrace.summary(BadSize(), input_size=(3, 4, 8), device="meta")
    cpu = shapetrace.summary(BadSize(), input_size=(3, 4, 8), device="cpu")
    assert not meta.ok and not cpu.ok
    assert meta.error.row == cpu.error.row == "view"
    assert meta.error.message == cpu.error.message
    assert "meta" not in meta.error.message


@pytest.mark.parametrize("reads", [
    lambda y: y.view(y.sum().long() // y.numel(), -1),  # item() inside a C++ kernel
    lambda y: torch.full((2,), y.sum()),  # a fill value
    lambda y: y.narrow(0, y.sum().long() // y.numel() - 1, 1),  # a start
    lambda y: y if bool(y.sum() > 0) else -y,  # bool()
    lambda y: y * len(y.sum(1).tolist()),  # tolist()
])
def test_a_value_from_the_weights_is_no_shape_error_on_meta(reads) -> None:
    class Reads(FromWeights):
        def forward(self, x):
            return reads(self.fc(x))

    assert shapetrace.summary(Reads(), input_size=(2, 4), device="cpu").ok
    with pytest.raises(MetaLacksValues, match="needs device='cpu'|trace it with device='cpu'") as e:
        shapetrace.summary(Reads(), input_size=(2, 4), device="meta")
    assert "\n" not in str(e.value)
    report = shapetrace.summary(Reads(), input_size=(2, 4))  # the default: the CPU, said
    assert report.ok and report.device == "cpu"
    assert [w.code for w in report.warnings] == ["ran_on_cpu"]


def test_the_default_runs_on_the_cpu_what_meta_cannot_and_says_so() -> None:
    model, x = FromWeights(), torch.randn(2, 4)
    before_model, before_global = model_state(model), global_state()
    report = shapetrace.summary(model, input_data=x)
    assert differences(before_model, model_state(model)) == []
    assert differences(before_global, global_state()) == []
    assert report.ok and report.device == "cpu"
    assert module_rows(report) == oracle(FromWeights(), (x,), {})
    (w,) = report.warnings
    assert w.code == "ran_on_cpu"
    assert w.message == ("traced on the CPU, for real (20 parameters): the meta device could not run "
                         "`view` (view; Tensor.item() cannot be called on meta tensors)")
    assert "device='meta'" in w.fix


def test_a_model_auto_keeps_on_meta_is_not_run_for_real(monkeypatch) -> None:
    monkeypatch.setattr(placement, "AUTO_MAX_PARAMS", 10)  # FromWeights has 20: "big"
    with pytest.raises(MetaLacksValues, match="trace it with device='cpu'"):
        shapetrace.summary(FromWeights(), input_size=(2, 4))


def test_a_model_built_on_meta_has_no_cpu_to_fall_back_to() -> None:
    with torch.device("meta"):
        model = FromWeights()
    with pytest.raises(MetaLacksValues, match="trace it with device='cpu'"):
        shapetrace.summary(model, input_size=(2, 4))


def test_a_forward_that_fails_on_the_cpu_too_says_the_cpus_error() -> None:
    class AlsoBroken(FromWeights):
        def forward(self, x):
            y = self.fc(x)
            if y.sum() > 0:
                raise KeyError("no such head")
            return y

    with pytest.raises(ModelError, match="raised KeyError: 'no such head'"):
        shapetrace.summary(AlsoBroken(), input_size=(2, 4))


def test_an_op_that_refuses_its_arguments_everywhere_is_a_diagnosis_not_a_fallback() -> None:
    class Pads(nn.Module):
        def forward(self, x):
            return nn.functional.pad(x, (1, 1, 1, 1, 1, 1))  # 6 pads for a 2-d input: refused on every device

    report = shapetrace.summary(Pads(), input_size=(2, 4))
    assert report.device == "meta" and not report.ok
    assert "ran_on_cpu" not in [w.code for w in report.warnings]
