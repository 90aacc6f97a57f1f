"""Shape-error diagnosis, first on the seed's verbatim model (batch 1, 64 and 49), then on the
mistakes any model makes. Each case runs on meta and on CPU: both must agree with torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.models import seed_verbatim as sv
from shapetrace.core.diagnose import factor_like
from shapetrace.trace.tracer import ModelError

DEVICES = ["meta", "cpu"]


def _torch_fails(model: nn.Module, shape) -> bool:
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(shape))
    except (RuntimeError, ValueError):
        return True
    return False


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch", [1, 64])
def test_seed_verbatim_view_fails_with_the_arithmetic_and_the_fix(device: str, batch: int) -> None:
    assert _torch_fails(sv.CNNWithResidual(), (batch, 1, 28, 28))
    report = shapetrace.summary(sv.CNNWithResidual(), (batch, 1, 28, 28), device=device)
    d = report.error
    assert d is not None and d.row == "view" and d.kind == "view"
    assert "view(-1, 6272)" in d.message and f"is invalid for input of size {batch * 1152}" in d.message
    assert d.expected == (batch, 128, 7, 7) and d.actual == (batch, 128, 3, 3)
    assert any(a.startswith("1152 = 128 x 3 x 3") for a in d.arithmetic)
    assert any(a.startswith("6272 = 128 x 7 x 7") for a in d.arithmetic)
    assert "7 x 7 is the map after `resblock2`; `pool` then makes it 3 x 3" in d.arithmetic
    assert d.fixes[0].startswith("x.flatten(1) instead of x.view(-1, 6272)")
    assert "fc1 = nn.Linear(1152, 512)" in d.fixes and "fc1 = nn.LazyLinear(512)" in d.fixes
    # the table stops at the failing row; everything before it ran
    assert report.rows[-1].name == "view" and report.rows[-1].output_shapes == []
    assert report.rows[-2].name == "pool" and report.rows[-2].output_shapes == [(batch, 128, 3, 3)]
    assert [r.name for r in report.rows if r.depth == 1][:3] == ["conv1", "relu", "pool"]


@pytest.mark.parametrize("device", DEVICES)
def test_seed_verbatim_batch_49_is_a_silent_bug_caught_as_a_warning(device: str) -> None:
    with torch.no_grad():
        assert sv.CNNWithResidual()(torch.zeros(49, 1, 28, 28)).shape == (9, 10)  # torch says nothing
    report = shapetrace.summary(sv.CNNWithResidual(), (49, 1, 28, 28), device=device)
    assert report.error is None
    assert report.rows[0].output_shapes == [(9, 10)]
    (w,) = report.warnings
    assert w.code == "batch_changed" and w.row == "view"
    assert "turned a batch of 49 into 9" in w.message
    assert "56448 = 49 x 1152 (128 x 3 x 3)" in w.message and "6272 = 128 x 7 x 7" in w.message
    assert "x.flatten(1)" in w.fix and "fc1 = nn.Linear(1152, 512)" in w.fix


def test_a_legit_flatten_of_batch_and_time_is_not_warned() -> None:
    class Tokens(nn.Module):
        def forward(self, x):  # (B, T, C) -> (B*T, C): each row still one sample's
            return x.view(-1, x.shape[-1])

    assert shapetrace.summary(Tokens(), (4, 3, 5)).warnings == []


def test_the_corrected_seed_has_no_error_and_no_warning() -> None:
    from shapetrace.models.seed import CNNWithResidual

    for batch in (1, 49, 64):
        report = shapetrace.summary(CNNWithResidual(), (batch, 1, 28, 28))
        assert report.ok and report.warnings == []
        assert report.rows[0].output_shapes == [(batch, 10)]


class FlattenButWrongLinear(sv.CNNWithResidual):
    """flatten(1) fixed, fc1 still Linear(6272, 512)."""

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(self.resblock1(x))
        x = self.pool(self.resblock2(x))
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


@pytest.mark.parametrize("device", DEVICES)
def test_bad_linear_input_names_both_sizes(device: str) -> None:
    assert _torch_fails(FlattenButWrongLinear(), (2, 1, 28, 28))
    d = shapetrace.summary(FlattenButWrongLinear(), (2, 1, 28, 28), device=device).error
    assert d.row == "fc1" and d.kind == "Linear" and d.argument == "in_features"
    assert d.expected == (2, 6272) and d.actual == (2, 1152)
    assert d.arithmetic[:2] == ["1152 = 128 x 3 x 3: the flattened (128, 3, 3)",
                                "6272 = 128 x 7 x 7: what in_features assumes"]
    assert d.fixes[:2] == ["fc1 = nn.Linear(1152, 512)", "fc1 = nn.LazyLinear(512)"]


@pytest.mark.parametrize("device", DEVICES)
def test_channel_mismatch(device: str) -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(16, 4, 3, padding=1))
    assert _torch_fails(model, (1, 3, 10, 10))
    d = shapetrace.summary(model, (1, 3, 10, 10), device=device).error
    assert d.row == "2" and d.argument == "in_channels"
    assert "expected input with 16 channels" in d.message and "got 8 channels" in d.message
    assert d.expected == (1, 16, 8, 8) and d.actual == (1, 8, 8, 8)
    assert d.arithmetic == ["8 channels come from `1` (ReLU), output (1, 8, 8, 8)"]
    assert d.fixes[0] == "layer 2: nn.Conv2d(in_channels=8, out_channels=4, kernel_size=3, padding=1)"


@pytest.mark.parametrize("device", DEVICES)
def test_kernel_larger_than_the_input(device: str) -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.MaxPool2d(2), nn.Conv2d(8, 8, 5))
    assert _torch_fails(model, (1, 3, 14, 14))
    d = shapetrace.summary(model, (1, 3, 14, 14), device=device).error
    assert d.row == "3" and d.argument == "kernel_size"
    assert "kernel_size 5" in d.message and "3" in d.message
    assert d.arithmetic == ["spatial size along the flow: 12 x 12 (0) -> 6 x 6 (1) -> 3 x 3 (2)"]
    assert d.fixes


def test_meta_rejects_what_only_cpu_checks() -> None:
    # The meta device accepts output_padding >= stride; torch on CPU raises. The core check
    # makes the meta trace fail like CPU does.
    model = nn.ConvTranspose2d(4, 4, 3, stride=1, output_padding=1)
    with torch.device("meta"):
        model(torch.zeros(1, 4, 5, 5, device="meta"))  # no error on meta itself
    assert _torch_fails(model, (1, 4, 5, 5))
    for device in DEVICES:
        d = shapetrace.summary(model, (1, 4, 5, 5), device=device).error
        assert d is not None and d.argument == "output_padding", device
        assert "output_padding 1 must be smaller" in d.message


class NoProjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(32, 64, 3, padding=1)

    def forward(self, x):
        return self.conv(x) + x  # 64 channels + 32 channels


@pytest.mark.parametrize("device", DEVICES)
def test_residual_add_mismatch_suggests_a_projection(device: str) -> None:
    assert _torch_fails(NoProjection(), (1, 32, 8, 8))
    d = shapetrace.summary(NoProjection(), (1, 32, 8, 8), device=device).error
    assert d.row == "add" and d.expected == (1, 64, 8, 8) and d.actual == (1, 32, 8, 8)
    assert d.arithmetic == ["dim 1: 64 vs 32"]
    assert d.fixes[0] == "a 1x1 shortcut nn.Conv2d(32, 64, kernel_size=1) so the channels match"


@pytest.mark.parametrize("device", DEVICES)
def test_unet_odd_size_concat(device: str) -> None:
    from .zoo import TinyUNet

    assert _torch_fails(TinyUNet(), (1, 1, 17, 17))
    report = shapetrace.summary(TinyUNet(), (1, 1, 17, 17), device=device)
    d = report.error
    assert d.row == "cat" and d.kind == "cat"
    assert d.expected == (1, 8, 16, 16) and d.actual == (1, 8, 17, 17)
    assert "dim 2: 16 vs 17" in d.message
    assert any("crop or pad" in f for f in d.fixes)
    assert report.rows[-1].name == "cat" and report.rows[-2].name == "up"


def test_the_models_own_assert_is_a_shape_error() -> None:
    class Checks(nn.Module):
        def forward(self, x):
            assert x.shape[1] == 3, f"want 3 channels, got {x.shape[1]}"
            return x

    d = shapetrace.summary(Checks(), (1, 4, 2, 2)).error
    assert d is not None and "want 3 channels, got 4" in d.message


def test_other_forward_failures_are_model_errors_exit_2() -> None:
    class Broken(nn.Module):
        def forward(self, x):
            return x + "y"

    with pytest.raises(ModelError, match="Broken.forward raised TypeError") as e:
        shapetrace.summary(Broken(), (1, 3))
    assert e.value.exit_code == 2


def test_data_dependent_code_needs_cpu() -> None:
    class DataDependent(nn.Module):  # reads a value computed from its weights: none on meta
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return x * 2 if self.fc(x).sum().item() > 0 else x

    with pytest.raises(ModelError, match="meta device"):
        shapetrace.summary(DataDependent(), (1, 3), device="meta")
    assert shapetrace.summary(DataDependent(), (1, 3), device="cpu").ok


def test_an_error_the_model_catches_is_not_reported() -> None:
    class Fallback(nn.Module):
        def __init__(self):
            super().__init__()
            self.wrong = nn.Linear(5, 2)
            self.right = nn.Linear(3, 2)

        def forward(self, x):
            try:
                return self.wrong(x)
            except (RuntimeError, ValueError):
                return self.right(x)

    for device in DEVICES:
        report = shapetrace.summary(Fallback(), (1, 3), device=device)
        assert report.ok, device
        assert report.rows[-1].name == "right" and report.rows[-1].output_shapes == [(1, 2)]


def test_factor_like() -> None:
    assert factor_like(6272, (128, 3, 3)) == (128, 7, 7)
    assert factor_like(1152, (128, 3, 3)) == (128, 3, 3)
    assert factor_like(81, (3, 2, 2, 2)) == (3, 3, 3, 3)
    assert factor_like(1000, (128, 3, 3)) is None  # not a multiple of 128
    assert factor_like(128 * 6, (128, 3, 3)) is None  # 6 is no square


def test_the_model_itself_is_named_by_its_class_and_replaced_as_model_in_the_core() -> None:
    """The root row (named '', as torch names it) is named once, in the core's diagnosis:
    its class in the words, ``model = ...`` in the fixes, its real name kept in ``row``."""
    from shapetrace.core.diagnose import Failure, FailOp, Context, diagnose
    from shapetrace.core.records import Row

    row = Row(name="", kind="Linear", depth=0, input_shapes=[(1, 5)], output_shapes=[])
    d = diagnose(Failure(row=row, op=FailOp.LINEAR, message="bad",
                         info={"in_features": 3, "out_features": 4, "module": True}), Context([], 1))
    assert d.row == "" and d.message.startswith("`Linear` (Linear) expects 3 input features")
    assert d.fixes == ["model = nn.Linear(5, 4)", "model = nn.LazyLinear(4)"]


@pytest.mark.parametrize("device", DEVICES)
def test_a_view_inside_a_model_that_is_a_linear_fixes_the_model(device: str) -> None:
    """A Linear subclass whose own forward reshapes: the fix replaces the model, not 'layer : '."""
    class Lin(nn.Linear):
        def forward(self, x):
            return super().forward(x.view(-1, 6))

    assert _torch_fails(Lin(6, 2), (2, 5))
    d = shapetrace.summary(Lin(6, 2), (2, 5), device=device).error
    assert d is not None and d.row == "view"
    assert "model = nn.Linear(5, 2)" in d.fixes and not any(f.startswith("layer ") for f in d.fixes)
