"""The CPU's dtype agreement rules on a meta trace (trace/meta_dtypes.py): real CPU torch is
the oracle. On a grid of dtypes, a meta trace refuses a call exactly when the CPU kernel
does (torch's meta kernels accepted a float64 input into float32 weights), and the error
says what to pass."""

from __future__ import annotations

import itertools
import warnings

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
    except (RuntimeError, IndexError):
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


class Indexes(nn.Module):
    """``fn(self.x, index, source)``: the tensor indexed is the model's own (meta on a meta
    trace), the index and the source are the input (kept real: a mixed call)."""

    def __init__(self, fn, x: torch.Tensor) -> None:
        super().__init__()
        self.fn = fn
        self.register_buffer("x", x)

    def forward(self, index, source=None):
        return self.fn(self.x, index, source)


# name -> (fn(x, index, source), x's shape, the index's shape, the source's shape or None)
INDEX_CASES = {
    "index_select": (lambda x, i, s: torch.index_select(x, 0, i), (3, 4), (2,), None),
    "Tensor.index_select": (lambda x, i, s: x.index_select(0, i), (3, 4), (2,), None),
    "index_add": (lambda x, i, s: x.index_add(0, i, s), (3, 4), (2,), (2, 4)),
    "index_add_": (lambda x, i, s: x.clone().index_add_(0, i, s), (3, 4), (2,), (2, 4)),
    "index_copy": (lambda x, i, s: x.index_copy(0, i, s), (3, 4), (2,), (2, 4)),
    "index_fill": (lambda x, i, s: x.index_fill(0, i, 1.0), (3, 4), (2,), None),
    "index_put": (lambda x, i, s: x.index_put((i,), s), (3, 4), (2,), (4,)),
    "nll_loss": (lambda x, i, s: F.nll_loss(x, i), (2, 3), (2,), None),
    "cross_entropy": (lambda x, i, s: F.cross_entropy(x, i), (2, 3), (2,), None),
}
VALUES = [torch.float32, torch.float64, torch.float16, torch.int64]
INDICES = [torch.int64, torch.int32, torch.uint8, torch.float32]


@pytest.mark.parametrize("name", list(INDEX_CASES))
def test_a_meta_trace_refuses_the_index_and_label_dtypes_the_cpu_refuses(name: str) -> None:
    fn, shape, ishape, sshape = INDEX_CASES[name]
    # (a uint8 index of index_put is a mask, whose shape is another rule: not a dtype's)
    indices = [i for i in INDICES if not (name == "index_put" and i == torch.uint8)]
    wrong = []
    for v, i in itertools.product(VALUES, indices):
        for s in ([None] if sshape is None else [torch.float32, torch.float64]):
            x, index = torch.zeros(shape, dtype=v), torch.zeros(ishape, dtype=i)
            source = None if s is None else torch.zeros(sshape, dtype=s)
            data = index if source is None else (index, source)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # torch: uint8 indices are deprecated
                cpu = _cpu_refuses(lambda x, *a: fn(x, *a), x, [index, source])
                refused = _meta_refuses_data(Indexes(fn, x), data)
            if refused != cpu:
                wrong.append((v, i, s, "cpu refuses" if cpu else "cpu accepts"))
    assert wrong == []


def _meta_refuses_data(model: nn.Module, data) -> bool:
    try:
        report = shapetrace.summary(model, input_data=data)
    except ModelError:
        return True
    return not report.ok


def test_int32_labels_into_a_loss_are_refused_on_meta_in_the_cpus_words() -> None:
    model = Indexes(lambda x, i, s: F.cross_entropy(x, i), torch.zeros(2, 3))
    report = shapetrace.summary(model, input_data=torch.zeros(2, dtype=torch.int32))
    assert not report.ok and "expected target dtype to be Long or Byte, but got Int" in report.error.message
