"""The CPU's dtype agreement rules on a meta trace (trace/meta_dtypes.py): real CPU torch is
the oracle. On a grid of dtypes, a meta trace refuses a call exactly when the CPU kernel
does (torch's meta kernels accepted a float64 input into float32 weights), and the error
says what to pass."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import shapetrace
from shapetrace.trace.failures import ModelError

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


class Calls(nn.Module):
    """Calls ``fn(x, *weights)``: the weights' dtypes are set per case."""

    def __init__(self, fn, weights) -> None:
        super().__init__()
        self.fn = fn
        for i, w in enumerate(weights):
            self.register_buffer(f"w{i}", w)

    def forward(self, x):
        return self.fn(x, *(getattr(self, f"w{i}") for i in range(len(self._buffers))))


# name -> (fn, input shape, weight shapes)
CASES = {
    "linear": (F.linear, (2, 3), [(4, 3)]),
    "linear+bias": (F.linear, (2, 3), [(4, 3), (4,)]),
    "matmul": (torch.matmul, (2, 3), [(3, 4)]),
    "matmul 3d": (torch.matmul, (5, 2, 3), [(3, 4)]),
    "mm": (torch.mm, (2, 3), [(3, 4)]),
    "bmm": (torch.bmm, (1, 2, 3), [(1, 3, 4)]),
    "@": (lambda x, w: x @ w, (2, 3), [(3, 4)]),
    "addmm": (lambda x, a, b: torch.addmm(x, a, b), (4,), [(2, 3), (3, 4)]),
    "baddbmm": (lambda x, a, b: torch.baddbmm(x, a, b), (1, 2, 4), [(1, 2, 3), (1, 3, 4)]),
    "conv1d": (F.conv1d, (1, 3, 5), [(2, 3, 3)]),
    "conv2d+bias": (F.conv2d, (1, 3, 5, 5), [(2, 3, 3, 3), (2,)]),
    "conv_transpose2d": (F.conv_transpose2d, (1, 3, 5, 5), [(3, 2, 3, 3)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3,), w, b), (2, 3), [(3,), (3,)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (2, 4), [(4,), (4,)]),
    "batch_norm": (lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b), (2, 3), [(3,), (3,), (3,), (3,)]),
}


def _grid(n_weights: int):
    for x in DTYPES:
        for ws in itertools.product(DTYPES, repeat=min(n_weights, 2)):
            yield (x, *ws, *([ws[-1]] * (n_weights - len(ws))))  # batch_norm: 4 weights, 2 dtypes


def _cpu_refuses(fn, x: torch.Tensor, weights: list[torch.Tensor]) -> bool:
    try:
        fn(x, *weights)
        return False
    except RuntimeError:
        return True


def _meta_refuses(model: nn.Module, x: torch.Tensor) -> bool:
    try:
        report = shapetrace.summary(model, input_data=x)
    except ModelError:
        return True
    return not report.ok


@pytest.mark.parametrize("name", list(CASES))
def test_a_meta_trace_refuses_the_dtypes_the_cpu_refuses(name: str) -> None:
    fn, shape, wshapes = CASES[name]
    wrong = []
    for dtypes in _grid(len(wshapes)):
        x = torch.ones(shape, dtype=dtypes[0])
        weights = [torch.ones(s, dtype=d) for s, d in zip(wshapes, dtypes[1:])]
        cpu = _cpu_refuses(fn, x, weights)
        if _meta_refuses(Calls(fn, weights), x) != cpu:
            wrong.append((dtypes, "cpu refuses" if cpu else "cpu accepts"))
    assert wrong == []


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_float64_input_says_which_dtype_to_pass(device: str) -> None:
    """torch.from_numpy gives float64: the error names the layer and the fix, in the CLI's
    and the API's words; it used to read "expects 4 input features ... but has 4"."""
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.zeros(3, 4, dtype=torch.float64)
    with pytest.raises(ModelError) as e:
        shapetrace.summary(model, input_data=x, device=device)
    msg = str(e.value)
    assert "`0` (Linear) has float32 weights but gets a float64 input" in msg
    assert "--dtype float32" in msg and "dtypes=[torch.float32]" in msg and "\n" not in msg
    assert "input features" not in msg


def test_two_activations_of_two_dtypes_are_named_as_such() -> None:
    class Mixes(nn.Module):
        def forward(self, a, b):
            return a @ b

    with pytest.raises(ModelError, match=r"`matmul` \(matmul\) gets float32 and float64 tensors.*"
                                         r"\.to\(torch\.float64\)"):
        shapetrace.summary(Mixes(), input_data=(torch.zeros(2, 3), torch.zeros(3, 2, dtype=torch.float64)))


def test_a_half_input_into_float32_norm_weights_is_fine_as_on_the_cpu() -> None:
    model, x = nn.LayerNorm(8), torch.zeros(2, 8, dtype=torch.bfloat16)
    assert model(x).dtype == torch.bfloat16  # the CPU's mixed-type path
    report = shapetrace.summary(model, input_data=x)
    assert report.ok, report.error


class RefusedForAnotherReason(nn.Module):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def forward(self, x):
        if self.what == "view":
            return x.transpose(1, 2).view(2, -1)  # 24 values fit (2, -1); the strides do not
        return x.long().add_(torch.ones(4) * 0.5)  # (2, 4) and (4,) broadcast; the dtypes do not


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("what", ["view", "add"])
def test_a_refusal_that_is_no_shape_mismatch_is_not_called_one(what: str, device: str) -> None:
    report = shapetrace.summary(RefusedForAnotherReason(what), input_size=(2, 3, 4) if what == "view" else (2, 4),
                                device=device)
    assert not report.ok
    msg = report.error.message
    assert "cannot reshape" not in msg and "do not broadcast" not in msg
    if what == "view":
        assert "stride" in msg and report.error.fixes[0].startswith("x.reshape(2, -1)")


class UnderAutocast(nn.Module):
    """CPU autocast casts linear's and matmul's arguments to one dtype: mixed is fine there."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.fc(x.bfloat16()) @ torch.ones(3, 2)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_mixed_dtypes_under_cpu_autocast_are_the_cpus_business(device: str) -> None:
    model, x = UnderAutocast(), torch.randn(2, 4)
    with torch.no_grad():
        assert model(x).shape == (2, 2)
    report = shapetrace.summary(model, input_data=x, device=device)
    assert report.ok, report.error
    assert report.rows[0].output_shapes == [(2, 2)]
