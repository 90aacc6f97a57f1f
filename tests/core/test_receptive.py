"""Receptive fields: the published values, and brute-force gradient probing in torch."""

from __future__ import annotations

import torch
import torch.nn as nn
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shapetrace.core import receptive
from shapetrace.core.records import ReceptiveField
from shapetrace.core.spec import ConcatNode, LayerNode, ResidualNode, SequentialNode, child_name, flow, parse_spec

from .spec_torch import build_layer


def _conv(k, s=1, p=0, c=8, **kw):
    return {"type": "Conv2d", "out_channels": c, "kernel_size": k, "stride": s, "padding": p, **kw}


def _pool(k, s, p=0):
    return {"type": "MaxPool2d", "kernel_size": k, "stride": s, "padding": p}


def _rf_of(spec: dict, name: str) -> ReceptiveField:
    report = flow(spec)
    assert report.error is None, report.error
    return {r.name: r for r in report.rows}[name].receptive_field


def test_alexnet_pool5_is_195():
    # torchvision's AlexNet features (Krizhevsky et al. 2012, as in Araujo et al., Distill 2019: r = 195)
    spec = {"input": [1, 3, 224, 224], "layers": [
        _conv(11, 4, 2, 64), {"type": "ReLU"}, _pool(3, 2),
        _conv(5, 1, 2, 192), {"type": "ReLU"}, _pool(3, 2),
        _conv(3, 1, 1, 384), {"type": "ReLU"}, _conv(3, 1, 1, 256), {"type": "ReLU"},
        _conv(3, 1, 1, 256), {"type": "ReLU"}, {"type": "MaxPool2d", "name": "pool5", "kernel_size": 3, "stride": 2}]}
    rf = _rf_of(spec, "pool5")
    assert rf.size == (195, 195) and rf.jump == (32, 32)


def test_vgg16_pool5_is_212():
    layers = []
    for n_convs, c in [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]:
        layers += [_conv(3, 1, 1, c) for _ in range(n_convs)] + [_pool(2, 2)]
    layers[-1] = {"type": "MaxPool2d", "name": "pool5", "kernel_size": 2, "stride": 2}
    rf = _rf_of({"input": [1, 3, 224, 224], "layers": layers}, "pool5")
    assert rf.size == (212, 212) and rf.jump == (32, 32)
    # Araujo et al. give the effective padding 90 for VGG-16: the centre of output 0 is at
    # 212/2 - 1/2 - 90 = 15.5 input pixels.
    assert rf.start == (15.5, 15.5)


def test_seed_model_field_grows_through_the_residual_blocks():
    from pathlib import Path

    from shapetrace.core.spec import load_spec

    report = flow(load_spec(Path(__file__).resolve().parents[2] / "examples" / "seed.yaml"))
    rows = {r.name: r for r in report.rows}
    assert rows["conv1"].receptive_field.size == (3, 3)
    assert rows["pool"].receptive_field.size == (4, 4)
    # body: two 3x3 convs at jump 2 -> 4 + 2*2 + 2*2 = 12; shortcut 1x1 -> 4: the union is 12
    assert rows["resblock1.add"].receptive_field.size == (12, 12)
    assert rows["resblock1.shortcut"].receptive_field.size == (4, 4)
    assert rows["flatten"].receptive_field is None  # global from here on


def test_merge_is_the_union_of_both_windows():
    a = ReceptiveField((5,), (2,), (0.0,))   # covers [-2, 2]
    b = ReceptiveField((3,), (2,), (2.0,))   # covers [1, 3]
    assert receptive.merge(a, b) == ReceptiveField((6,), (2,), (0.5,))
    assert receptive.merge(a, None) is None
    assert receptive.merge(a, ReceptiveField((5,), (4,), (0.0,))) is None


# ----------------------------------------------------------------------------- brute force

_layer = st.one_of(
    st.builds(lambda k, s, p, d: _conv(k, s, p, 2, dilation=d),
              st.integers(1, 4), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2)),
    st.builds(lambda k, s, p: {"type": "AvgPool2d", "kernel_size": k, "stride": s, "padding": p},
              st.integers(2, 3), st.integers(1, 2), st.integers(0, 1)),
    st.just({"type": "ReLU"}),
)


@st.composite
def _block(draw):
    body = draw(st.lists(_layer, min_size=1, max_size=3))
    return {"type": "Residual", "body": body,
            "shortcut": draw(st.one_of(st.just([]), st.lists(_layer, min_size=1, max_size=2)))}


def _probe_model(spec, x):
    """Forward ``x`` through the spec in torch with every weight positive, so that each
    input pixel in an output's field has a non-zero gradient."""

    def seq(nodes, prefix, section, x):
        for i, n in enumerate(nodes):
            x = node(n, child_name(prefix, section, n.name, i), x)
        return x

    def node(n, q, x):
        if isinstance(n, LayerNode):
            layer = build_layer(n, x)
            with torch.no_grad():
                for name, p in layer.named_parameters():
                    p.fill_(0.1 if name == "weight" else 0.0)
            return layer(x)
        if isinstance(n, ResidualNode):
            body = seq(n.body, q, "body", x)
            sc = x if n.shortcut is None else seq(n.shortcut, q, "shortcut", x)
            return seq(n.post, q, "post", body + sc)
        if isinstance(n, SequentialNode):
            return seq(n.layers, q, "", x)
        assert isinstance(n, ConcatNode)
        return torch.cat([seq(b, q, f"branches.{i}", x) for i, b in enumerate(n.branches)], n.dim)

    return seq(spec.layers, "", "", x)


@settings(max_examples=150, deadline=None)
@given(layers=st.lists(st.one_of(_layer, _block()), min_size=1, max_size=4), data=st.data())
def test_field_matches_gradient_probing(layers, data):
    size = 40
    spec = parse_spec({"input": [1, 1, size, size], "layers": layers})
    report = flow(spec)
    assume(report.error is None)
    # A body that shrinks to 1x1 broadcasts against its shortcut: no single window then.
    assume(all(len(set(r.input_shapes)) == 1 for r in report.rows if r.kind == "add"))
    last = report.rows[-1]
    rf = last.receptive_field
    assert rf is not None
    out_h = last.output_shapes[0][2]
    # output positions whose field lies fully inside the input (no clipping by the border)
    inside = [i for i in range(out_h)
              if rf.start[0] + i * rf.jump[0] - (rf.size[0] - 1) / 2 >= 0
              and rf.start[0] + i * rf.jump[0] + (rf.size[0] - 1) / 2 <= size - 1]
    assume(inside)
    i = data.draw(st.sampled_from(inside))
    x = torch.rand(1, 1, size, size, dtype=torch.float64) + 0.5
    x.requires_grad_(True)
    torch.set_default_dtype(torch.float64)
    try:
        y = _probe_model(spec, x)
    finally:
        torch.set_default_dtype(torch.float32)
    y[0, :, i, i].sum().backward()
    touched = (x.grad[0, 0] != 0).nonzero()
    rows, cols = touched[:, 0], touched[:, 1]
    centre = rf.start[0] + i * rf.jump[0]
    lo, hi = centre - (rf.size[0] - 1) / 2, centre + (rf.size[0] - 1) / 2
    assert (rows.min().item(), rows.max().item()) == (lo, hi)
    assert (cols.min().item(), cols.max().item()) == (lo, hi)
