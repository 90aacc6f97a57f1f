"""Random 1-D conv/pool/pad/upsample stacks: the accepted set (as a spec, torch-free, and
as the same nn.Sequential) against a real CPU forward at every size of 1..TOP, exactly."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from torch import nn

from shapetrace.core.symbolic import analyze_spec
from shapetrace.trace.symbolic_probe import analyze_model

from .oracle import mismatches

TOP = 64
C = 2  # channels stay 2 through every layer


@st.composite
def layer(draw):
    kind = draw(st.sampled_from(["Conv1d", "ConvTranspose1d", "MaxPool1d", "AvgPool1d", "LPPool1d",
                                 "Upsample", "ConstantPad1d", "ReflectionPad1d", "ReplicationPad1d",
                                 "CircularPad1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "ReLU"]))
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3))
    if kind == "Conv1d":
        same = s == 1 and draw(st.booleans())
        kw = {"in_channels": C, "out_channels": C, "kernel_size": k, "stride": s,
              "padding": "same" if same else draw(st.integers(0, 2)), "dilation": draw(st.integers(1, 2)),
              "padding_mode": draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))}
    elif kind == "ConvTranspose1d":
        d = draw(st.integers(1, 2))
        kw = {"in_channels": C, "out_channels": C, "kernel_size": k, "stride": s, "padding": draw(st.integers(0, 2)),
              "output_padding": draw(st.integers(0, max(s, d) - 1)), "dilation": d}
    elif kind in ("MaxPool1d", "AvgPool1d"):
        kw = {"kernel_size": k, "stride": draw(st.sampled_from([None, 1, 2, 3])),
              "padding": draw(st.integers(0, k // 2)), "ceil_mode": draw(st.booleans())}
        if kind == "MaxPool1d":
            kw["dilation"] = draw(st.integers(1, 2))
        else:
            kw["count_include_pad"] = draw(st.booleans())
    elif kind == "LPPool1d":
        kw = {"norm_type": 2, "kernel_size": k, "stride": draw(st.sampled_from([None, 1, 2])),
              "ceil_mode": draw(st.booleans())}
    elif kind == "Upsample":
        kw = {"scale_factor": draw(st.sampled_from([2, 3, 1.5, 0.5, 0.7])),
              "mode": draw(st.sampled_from(["nearest", "linear"]))}
    elif kind.endswith("Pad1d"):
        lo = -1 if kind == "ConstantPad1d" else 0
        kw = {"padding": [draw(st.integers(lo, 3)), draw(st.integers(lo, 3))]}
        if kind == "ConstantPad1d":
            kw["value"] = 0.0
    elif kind.startswith("Adaptive"):
        kw = {"output_size": draw(st.integers(1, 4))}
    else:
        kw = {}
    return {"type": kind, **kw}


def _module(spec_layer: dict) -> nn.Module:
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec_layer.items() if k != "type"}
    return getattr(nn, spec_layer["type"])(**kw)


@st.composite
def stack(draw):
    layers = draw(st.lists(layer(), min_size=1, max_size=5))
    if draw(st.booleans()):  # a Linear head: the flatten makes the size part of in_features
        layers += [{"type": "Flatten"}, {"type": "Linear", "in_features": C * draw(st.integers(1, 12)),
                                         "out_features": 3}]
    return layers


@settings(max_examples=200)
@given(stack())
def test_random_stack_matches_torch(layers):
    model = nn.Sequential(*[_module(l) for l in layers]).eval()
    res = analyze_model(model, (1, C, 32), max_size=TOP)
    assert res.exact, res.probed
    assert mismatches(res, model, [(x,) for x in range(1, TOP + 1)]) == []
    spec = {"input": [1, C, 32], "layers": [{k: v for k, v in l.items() if k != "in_channels"} for l in layers]}
    from_spec = analyze_spec(spec, max_size=TOP)
    assert from_spec.exact and from_spec.boxes == res.boxes


@st.composite
def layer2d(draw):
    """2-D layers whose two axes differ (kernel, stride, padding per axis)."""
    kind = draw(st.sampled_from(["Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Upsample",
                                 "ZeroPad2d", "ReflectionPad2d", "AdaptiveAvgPool2d"]))
    pair = lambda lo, hi: [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]  # noqa: E731
    k, s = pair(1, 4), pair(1, 3)
    if kind == "Conv2d":
        kw = {"in_channels": C, "out_channels": C, "kernel_size": k, "stride": s, "padding": pair(0, 2),
              "dilation": pair(1, 2)}
    elif kind == "ConvTranspose2d":
        kw = {"in_channels": C, "out_channels": C, "kernel_size": k, "stride": s, "padding": pair(0, 1),
              "output_padding": [draw(st.integers(0, s[0] - 1)), draw(st.integers(0, s[1] - 1))]}
    elif kind in ("MaxPool2d", "AvgPool2d"):
        kw = {"kernel_size": k, "stride": s, "padding": [draw(st.integers(0, k[0] // 2)),
                                                        draw(st.integers(0, k[1] // 2))],
              "ceil_mode": draw(st.booleans())}
    elif kind == "Upsample":
        kw = {"scale_factor": draw(st.sampled_from([2, 1.5, 0.5])),
              "mode": draw(st.sampled_from(["nearest", "bilinear"]))}
    elif kind.endswith("Pad2d"):
        kw = {"padding": pair(0, 2) + pair(0, 2)}
    else:
        kw = {"output_size": pair(1, 3)}
    return {"type": kind, **kw}


@settings(max_examples=40)
@given(st.lists(layer2d(), min_size=1, max_size=4))
def test_random_2d_stack_matches_torch(layers):
    from .oracle import grid

    model = nn.Sequential(*[_module(l) for l in layers]).eval()
    top = 40
    res = analyze_model(model, (1, C, 24, 20), max_size=top)
    assert res.exact, res.probed
    assert mismatches(res, model, grid(res, (top, top), 3)) == []
