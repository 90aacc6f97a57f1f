"""``shapetrace.train_memory``: exported lazily (``import shapetrace`` stays torch-free), the
user's model and torch's state untouched, bad arguments refused where they enter."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import shapetrace
from shapetrace.core.errors import ShapetraceError
from shapetrace.memory.options import MemoryUsageError, parse_budget

from .models import CASES


def test_import_stays_torch_free():
    code = "import sys, shapetrace; assert 'torch' not in sys.modules; f = shapetrace.train_memory; " \
           "assert 'torch' not in sys.modules; print(f.__module__)"  # torch comes with the first call
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "shapetrace.memory.api"


@pytest.mark.parametrize("name", ["checkpoint-reentrant", "seed-batchnorm", "lstm", "tied"])
def test_the_users_model_and_torchs_state_are_unchanged(name):
    case = CASES[name]
    model = case.model()
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    rng, grad = torch.random.get_rng_state(), torch.is_grad_enabled()
    budget = "1GiB" if name == "tied" else None  # the batch search's steps too (one model: fast)
    shapetrace.train_memory(model, case.shape, budget=budget, **case.api_kwargs())
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(type(v) is torch.Tensor and v.device.type == "cpu" for v in after.values())
    assert all(p.grad is None for p in model.parameters())
    assert [m.training for m in model.modules()] == flags
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert torch.equal(torch.random.get_rng_state(), rng) and torch.is_grad_enabled() == grad


def test_peak_grows_with_the_batch_and_adam_keeps_two_copies():
    case = CASES["inplace"]
    small = shapetrace.train_memory(case.model(), case.shape, optimizer="sgd")
    big = shapetrace.train_memory(case.model(), case.shape, optimizer="adam", batch_size=64)
    assert big.batch_size == 64 and big.saved_activations == 16 * small.saved_activations  # 4 -> 64
    assert small.optimizer_state == 0 and small.grads == small.params
    # Adam: exp_avg and exp_avg_sq per parameter, and a float32 step count per parameter
    n = sum(1 for _ in case.model().parameters())
    assert big.optimizer_state == 2 * big.params + 4 * n


@pytest.mark.parametrize("kwargs, needle", [
    (dict(optimizer="lion"), "unknown optimizer"),
    (dict(dtype="int8"), "unknown dtype"),
    (dict(device="xla"), "unknown device"),
    (dict(batch_size=0), "positive integer"),
    (dict(batch_size=True), "positive integer"),
    (dict(amp="yes"), "amp must be True or False"),
    (dict(budget="12 parsecs"), "unknown unit"),
    (dict(input_size=()), "batch dimension"),
])
def test_bad_arguments(kwargs, needle):
    args = dict(input_size=(2, 32))
    args.update(kwargs)
    with pytest.raises(ShapetraceError, match=needle) as e:
        shapetrace.train_memory(CASES["inplace"].model(), **args)
    assert e.value.exit_code == 2


def test_dtype_defaults_to_the_models_and_amp_to_autocasts():
    model = CASES["inplace"].model().to(torch.bfloat16)
    r = shapetrace.train_memory(model, (4, 32))
    assert r.dtype == "bfloat16" and r.params == 2 * sum(p.numel() for p in model.parameters())
    r = shapetrace.train_memory(CASES["inplace"].model(), (4, 32), amp=True)
    assert (r.dtype, r.amp) == ("bfloat16", True) and r.params == 4 * sum(p.numel() for p in model.parameters())
    with pytest.raises(MemoryUsageError, match="give dtype bfloat16 or float16"):
        shapetrace.train_memory(CASES["inplace"].model(), (4, 32), amp=True, dtype="float32")


def test_not_a_module():
    with pytest.raises(MemoryUsageError, match="torch.nn.Module"):
        shapetrace.train_memory(lambda x: x, (1, 2))


@pytest.mark.parametrize("text, value", [("16GiB", 16 * 2**30), ("1.5 KiB", 1536), ("512MiB", 2**29),
                                         ("1000", 1000), (4096, 4096)])
def test_budget_strings(text, value):
    assert parse_budget(text) == value


@pytest.mark.parametrize("text", ["16GB", "1e3", "-1", "0", "nan", "99999999999PiB", True])
def test_bad_budget_strings(text):
    with pytest.raises(MemoryUsageError):
        parse_budget(text)


class _Logits(torch.nn.Module):
    """A head whose output is the tensor itself, or a dataclass / dict / namedtuple holding it."""

    def __init__(self, wrap) -> None:
        super().__init__()
        self.fc, self.wrap = torch.nn.Linear(8, 4), wrap

    def forward(self, x):
        return self.wrap(self.fc(torch.relu(x)))


@pytest.mark.parametrize("wrap", ["dataclass", "dict", "namedtuple"])
def test_outputs_are_found_as_summary_finds_them(wrap):
    """The step finds the forward's output tensors with the tracer's walker (``inputs.tensors``):
    a dataclass output (as ``summary`` reads it) trains, and costs what the bare tensor costs."""
    import collections
    import dataclasses

    Out = dataclasses.make_dataclass("Out", [("logits", torch.Tensor), ("n", int, 0)])
    Pair = collections.namedtuple("Pair", "logits extra")
    wraps = {"dataclass": Out, "dict": lambda t: {"logits": t, "n": 3}, "namedtuple": lambda t: Pair(t, None)}
    torch.manual_seed(0)
    bare = shapetrace.train_memory(_Logits(lambda t: t), (2, 8))
    torch.manual_seed(0)
    got = shapetrace.train_memory(_Logits(wraps[wrap]), (2, 8))
    assert shapetrace.summary(_Logits(wraps[wrap]), (2, 8)).rows[0].output_shapes == [(2, 4)]
    assert (got.peak, got.saved_activations, got.grads, got.flops_forward, got.flops_backward) == \
        (bare.peak, bare.saved_activations, bare.grads, bare.flops_forward, bare.flops_backward)


class SetsTorchsSettings(torch.nn.Module):
    """A forward that changes torch's process-wide settings and does not put them back."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(torch.get_num_threads() + 1)
        torch.manual_seed(1234)
        return self.fc(x)


def test_torchs_settings_a_forward_changes_are_put_back():
    model = SetsTorchsSettings()
    dtype, threads, rng = torch.get_default_dtype(), torch.get_num_threads(), torch.random.get_rng_state()
    try:
        shapetrace.train_memory(model, (2, 4))
    except ShapetraceError:
        pass  # the step may refuse a float64 weight; what counts is what it leaves
    assert (torch.get_default_dtype(), torch.get_num_threads()) == (dtype, threads)
    assert torch.equal(torch.random.get_rng_state(), rng)
