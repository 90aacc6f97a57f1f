"""The tracer's contract: the user's model is never changed, inputs in all forms, devices,
bad arguments, and the same numbers as the torch-free spec flow of the same model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.core.errors import ArgumentError
from shapetrace.core.spec import flow, load_spec
from shapetrace.models.seed import CNNWithResidual
from shapetrace.trace import adapters
from shapetrace.trace.tracer import AUTO_MAX_PARAMS, pick_device

from .zoo import BasicBlock, make

ROOT = Path(__file__).resolve().parents[2]


def _state(model: nn.Module):
    return ({k: (v.device, v.data_ptr(), v.clone()) for k, v in model.state_dict().items()},
            [m.training for m in model.modules()],
            [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()])


def _same(a, b) -> bool:
    sa, ta, ha = a
    sb, tb, hb = b
    return (ta == tb and ha == hb and sa.keys() == sb.keys()
            and all(sa[k][:2] == sb[k][:2] and torch.equal(sa[k][2], sb[k][2]) for k in sa))


@pytest.mark.parametrize("device", ["meta", "cpu", "auto"])
def test_the_users_model_is_never_moved_or_changed(device: str) -> None:
    model = nn.Sequential(BasicBlock(3, 8, stride=2), nn.Dropout(0.5))
    model.train()  # BatchNorm would update its running stats in train mode
    before = _state(model)
    report = shapetrace.summary(model, (2, 3, 8, 8), device=device)
    assert report.ok
    assert _same(before, _state(model))
    assert all(m.training for m in model.modules())
    assert next(model.parameters()).device.type == "cpu"


class _Stateful(nn.Module):
    """What a meta trace must leave as it found: a plain tensor attribute, tied weights, an
    LSTM (it caches references to its weights), weight norm (a hook sets ``weight`` on every
    call) and a forward that stores things on the module."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.full((4,), 2.0)  # a tensor attribute, neither parameter nor buffer
        self.emb = nn.Embedding(10, 4)
        self.lstm = nn.LSTM(4, 4, batch_first=True)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.emb.weight  # tied
        self.norm = nn.utils.parametrizations.weight_norm(nn.Linear(4, 4))
        self.calls = 0

    def forward(self, ids):
        x = self.emb(ids) * self.scale
        x, _ = self.lstm(x)
        x = self.norm(x)
        self.last = x  # a cache the forward leaves behind
        self.calls += 1
        return self.head(x)


def test_a_meta_trace_puts_every_tensor_and_attribute_back() -> None:
    model = _Stateful()
    before = _state(model)
    attrs = {id(m): dict(vars(m)) for m in model.modules()}
    flat = [t.data_ptr() for t in model.lstm._flat_weights]
    report = shapetrace.summary(model, (2, 3), dtypes=[torch.long], device="meta")
    assert report.ok and report.totals.params == sum(p.numel() for p in model.parameters())
    assert _same(before, _state(model))
    assert {id(m): dict(vars(m)) for m in model.modules()} == attrs  # same objects, nothing added
    assert not hasattr(model, "last") and model.calls == 0
    assert model.head.weight is model.emb.weight and model.scale.device.type == "cpu"
    assert [t.data_ptr() for t in model.lstm._flat_weights] == flat
    out = model(torch.zeros(2, 3, dtype=torch.long))  # and it still runs for real
    assert out.shape == (2, 3, 10) and out.device.type == "cpu"


def test_a_failing_meta_trace_puts_everything_back_too() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(99, 2))
    before = _state(model)
    report = shapetrace.summary(model, (1, 3, 8, 8), device="meta")
    assert not report.ok and "Linear" in report.error.message
    assert _same(before, _state(model))
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_lazy_modules_are_traced_on_a_copy() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.LazyLinear(5))
    report = shapetrace.summary(model, (2, 1, 6, 6), device="meta")
    assert report.ok and report.rows[-1].output_shapes == [(2, 5)]
    assert type(model[2]) is nn.LazyLinear  # materialising changes the class: on the copy only
    assert isinstance(model[2].weight, nn.parameter.UninitializedParameter)


def test_input_data_is_not_modified_by_in_place_ops() -> None:
    class InPlace(nn.Module):
        def forward(self, x):
            x += 1
            return x.relu_()

    data = torch.full((2, 3), -5.0)
    report = shapetrace.summary(InPlace(), input_data=data, device="cpu")
    assert torch.equal(data, torch.full((2, 3), -5.0))
    assert [r.kind for r in report.rows[1:]] == ["add_", "relu_"]
    assert all(r.output_bytes == 0 for r in report.rows[1:])  # in place: nothing new


def test_input_forms() -> None:
    model, _, _ = make("multi_input")
    a = shapetrace.summary(model, input_data=[torch.zeros(2, 3, 6, 6), torch.zeros(2, 5)])
    b = shapetrace.summary(model, input_data=(torch.zeros(2, 3, 6, 6), torch.zeros(2, 5)))
    c = shapetrace.summary(model, input_data={"image": torch.zeros(2, 3, 6, 6), "vector": torch.zeros(2, 5)})
    d = shapetrace.summary(model, input_size=[[2, 3, 6, 6], [2, 5]])
    assert [r.output_shapes for r in a.rows] == [r.output_shapes for r in b.rows] \
        == [r.output_shapes for r in c.rows] == [r.output_shapes for r in d.rows]
    emb = nn.Embedding(10, 4)
    assert shapetrace.summary(emb, (3, 5), dtypes=[torch.long]).rows[0].output_shapes == [(3, 5, 4)]
    assert shapetrace.summary(emb, (3, 5), dtypes="int64").rows[0].output_shapes == [(3, 5, 4)]


def test_a_half_precision_model_gets_half_inputs() -> None:
    model = nn.Linear(4, 2).half()
    report = shapetrace.summary(model, (1, 4))
    assert report.totals.input_bytes == 8 and report.rows[0].param_bytes == 10 * 2


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give input_size"),
    ({"input_size": (1, 4), "input_data": torch.zeros(1, 4)}, "not both"),
    ({"input_size": "1,4"}, "input_size must be a shape"),
    ({"input_size": (1, -4)}, "negative"),
    ({"input_data": 3}, "input_data must be"),
    ({"input_data": []}, "holds no tensor"),
    ({"input_size": (1, 4), "dtypes": ["float33"]}, "dtypes entries"),
    ({"input_size": [(1, 4), (1, 4)], "dtypes": ["float32"] * 3}, "3 entries for 2 inputs"),
    ({"input_size": (1, 4), "dtypes": ["float32"] * 2}, "2 entries for 1 input$"),
    ({"input_size": (1, 4), "device": "tpu"}, "device must be"),
    ({"input_size": (1, 4), "depth": -1}, "depth must be"),
    ({"input_size": (1, 4), "mode": "test"}, "mode must be"),
])
def test_bad_arguments_are_one_line_errors(kwargs, message) -> None:
    with pytest.raises(ArgumentError, match=message) as e:
        shapetrace.summary(nn.Linear(4, 2), **kwargs)
    assert "\n" not in str(e.value) and e.value.exit_code == 2


def _nested(depth: int, leaf):
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@pytest.mark.parametrize("depth", [0, 1, 8, 9])
@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_input_data_nested_to_the_read_depth_reaches_the_rows(depth, device) -> None:
    # Each input is read as deep as input_data itself: the model's row sees the tensor the
    # check found (its call's arguments were read two levels shallower before).
    class Unwrap(nn.Module):
        def forward(self, x):
            while isinstance(x, list):
                x = x[0]
            return x * 2

    report = shapetrace.summary(Unwrap(), input_data=_nested(depth, torch.zeros(1, 4)), device=device)
    assert report.input_shapes == [(1, 4)] and report.rows[0].input_shapes == [(1, 4)]
    assert report.rows[0].output_shapes == [(1, 4)]


@pytest.mark.parametrize("data", [_nested(10, torch.zeros(1, 4)), _nested(5000, torch.zeros(1, 4)),
                                  {"x": _nested(9, torch.zeros(1, 4))}, _nested(12, {"a": [torch.zeros(1)]}),
                                  [torch.zeros(1, 4), _nested(11, torch.zeros(1))]])
def test_input_data_nested_deeper_than_read_is_refused_by_name(data) -> None:
    # It said "input_data holds no tensor" (the walk stops there), or read a part of it.
    with pytest.raises(ArgumentError, match=r"input_data is nested more than 9 levels deep") as e:
        shapetrace.summary(nn.Linear(4, 2), input_data=data)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("data, why", [
    ({"x": torch.zeros(1, 4)}, "missing a required argument: 'input'"),
    ([torch.zeros(1, 4), torch.zeros(1, 4)], "too many positional arguments"),
])
def test_inputs_the_forward_does_not_take_say_so_without_the_meta_hint(device, data, why) -> None:
    # On meta every TypeError of the forward ended in "the meta device holds no values ...
    # needs device='cpu'", which cannot help a keyword the forward has no parameter for.
    with pytest.raises(shapetrace.ShapetraceError) as e:
        shapetrace.summary(nn.Linear(4, 2), input_data=data, device=device)
    assert str(e.value) == f"Linear.forward(input) does not take the inputs given: {why}"


def test_a_type_error_inside_a_forward_that_takes_the_inputs_keeps_the_meta_hint() -> None:
    class Numpy(nn.Module):
        def forward(self, x):
            raise TypeError("can't convert meta device type tensor to numpy")

    with pytest.raises(shapetrace.ShapetraceError, match="the meta device holds no values"):
        shapetrace.summary(Numpy(), input_data=torch.zeros(1, 4), device="meta")


def test_not_a_module() -> None:
    with pytest.raises(ArgumentError, match="must be a torch.nn.Module"):
        shapetrace.summary(lambda x: x, (1, 2))


def test_device_choice() -> None:
    small = CNNWithResidual()
    assert pick_device("auto", small, 784).type == "cpu"
    assert pick_device("auto", small, 10_000_000).type == "meta"  # a big input
    big = nn.Linear(AUTO_MAX_PARAMS, 2, device="meta")
    assert pick_device("auto", big).type == "meta"
    with pytest.raises(ArgumentError, match="meta device"):
        pick_device("cpu", big)
    if not torch.cuda.is_available():
        with pytest.raises(ArgumentError, match="no CUDA device"):
            pick_device("cuda", small)


def test_a_model_built_on_meta_is_traced_in_place() -> None:
    with torch.device("meta"):
        model = CNNWithResidual()
    report = shapetrace.summary(model, (1, 1, 28, 28))
    assert report.ok and report.totals.params == sum(p.numel() for p in model.parameters())


def test_same_numbers_as_the_spec_of_the_same_model() -> None:
    """The traced seed and examples/seed.yaml (torch-free core) agree group by group:
    shapes, parameters, MACs and receptive field (the core's is checked against published
    values and gradient probing in tests/core)."""
    from shapetrace.render.seed_table import group

    traced = shapetrace.summary(CNNWithResidual(), (1, 1, 28, 28))
    spec = flow(load_spec(ROOT / "examples" / "seed.yaml"))

    def groups(report):
        out = []
        for g in group(report):
            rows = [report.rows[i] for i in g.rows]
            out.append((g.label, g.input_shape, g.output_shape, sum(r.params for r in rows),
                        sum(r.macs or 0 for r in rows if r.leaf),
                        next((r.receptive_field for r in reversed(rows) if r.output_shapes), None)))
        return out

    assert groups(traced) == groups(spec)
    assert traced.totals.params == spec.totals.params
    assert traced.totals.macs == spec.totals.macs


def test_receptive_field_through_the_residual_block() -> None:
    rows = {r.name: r for r in shapetrace.summary(CNNWithResidual(), (1, 1, 28, 28)).rows}
    add, body = rows["resblock1.add"], rows["resblock1.conv2"]
    # the body (two 3x3 convs after the pooled 3x3 conv) is wider than the 1x1 shortcut:
    # the union is the body's field
    assert add.receptive_field == body.receptive_field
    assert add.receptive_field.size == (12, 12) and add.receptive_field.jump == (2, 2)


def test_adapters_read_back_the_constructor_arguments() -> None:
    """Every torch.nn layer the core knows: a default instance's attributes give back the
    constructor arguments (so a meta trace checks exactly what torch will run)."""
    cases = [
        (nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, dilation=2, groups=1, bias=False),
         {"in_channels": 3, "out_channels": 8, "kernel_size": (3, 5), "stride": (2, 2), "padding": (1, 1),
          "dilation": (2, 2), "groups": 1, "bias": False, "padding_mode": "zeros"}),
        (nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1),
         {"in_channels": 4, "out_channels": 2, "kernel_size": (3,), "stride": (2,), "output_padding": (1,)}),
        (nn.Linear(7, 3), {"in_features": 7, "out_features": 3, "bias": True}),
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        (nn.LayerNorm([4, 5], elementwise_affine=True, bias=False),
         {"normalized_shape": (4, 5), "elementwise_affine": True, "bias": False}),
        (nn.Embedding(10, 3, padding_idx=2), {"num_embeddings": 10, "embedding_dim": 3, "padding_idx": 2}),
    ]
    for module, expected in cases:
        call = adapters.core_call(module)
        assert call is not None, type(module).__name__
        name, kwargs = call
        assert name == type(module).__name__
        for k, v in expected.items():
            assert kwargs[k] == v, (name, k)


def test_user_modules_are_not_core_layers() -> None:
    class MyConv(nn.Conv2d):
        def forward(self, x):  # its own forward: the core's rule may not apply
            return super().forward(x) * 2

    class PlainSub(nn.Conv2d):
        pass

    assert adapters.core_call(MyConv(1, 1, 1)) is None
    assert adapters.nn_base(PlainSub) is nn.Conv2d
    assert adapters.core_call(PlainSub(1, 2, 3))[0] == "Conv2d"


def test_train_mode_keeps_torchs_training_checks() -> None:
    # BatchNorm in training needs more than one value per channel: torch raises on CPU, and
    # the meta trace must too (no shortcut around torch's check).
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    for device in ("cpu", "meta"):
        d = shapetrace.summary(model, (1, 4), device=device, mode="train").error
        assert d is not None and d.row == "1" and "more than 1 value per channel" in d.message, device
        assert shapetrace.summary(model, (1, 4), device=device).ok  # eval: fine
    assert model.training  # restored


@pytest.mark.parametrize("forward", [3, "not a function"])
def test_a_forward_whose_signature_cannot_be_read_keeps_torchs_words(forward) -> None:
    # inspect.signature raises TypeError where the forward is no callable: the
    # forward's own failure is the message, never an error of our check.
    model = type("Odd", (nn.Module,), {"forward": forward})()
    with pytest.raises(shapetrace.ShapetraceError, match=r"^Odd.forward raised TypeError") as e:
        shapetrace.summary(model, input_data={"x": torch.zeros(1, 4)})
    assert "\n" not in str(e.value)
