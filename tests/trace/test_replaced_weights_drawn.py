"""Drawn cases of layers whose weights were replaced (another configuration's weight, a
bias left or replaced, an argument changed after construction, an input of either size):
on every device the trace accepts exactly what a real CPU forward accepts, with its output
shape. torch's meta kernels skip some of the CPU's checks (a convolution's bias size, its
groups), so this is where the meta trace fails if the tracer trusts them."""

from __future__ import annotations

import random
import warnings

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import shapetrace


def _conv(r: random.Random):
    n, transposed = r.choice([1, 2]), r.random() < 0.5
    cls = {(1, False): nn.Conv1d, (2, False): nn.Conv2d, (1, True): nn.ConvTranspose1d,
           (2, True): nn.ConvTranspose2d}[n, transposed]
    g = r.choice([1, 1, 2])
    m = cls(g * r.choice([1, 2]), g * r.choice([1, 2]), r.choice([1, 2, 3]), groups=g, bias=r.random() < 0.7)
    g2 = r.choice([1, g])
    other = cls(g2 * r.choice([1, 2, 3]), g2 * r.choice([1, 2, 3]), r.choice([1, 2, 3]), groups=g2,
                bias=m.bias is not None)
    if r.random() < 0.5:
        m.groups = g2
    m.weight = other.weight
    if m.bias is not None and r.random() < 0.8:
        m.bias = other.bias
    channels = r.choice([m.in_channels, other.in_channels])
    return m, (torch.zeros((r.choice([1, 2]), channels) + (r.choice([3, 5, 6]),) * n),)


def _linear(r: random.Random):
    m = nn.Linear(r.choice([2, 3, 4]), r.choice([2, 3, 4]), bias=r.random() < 0.7)
    m.weight = nn.Parameter(torch.randn(r.choice([2, 3, 4, 6]), r.choice([2, 3, 4, 6])))
    if m.bias is not None and r.random() < 0.7:
        m.bias = nn.Parameter(torch.randn(r.choice([m.weight.shape[0], 1])))
    return m, (torch.zeros(2, r.choice([2, 3, 4, 6])),)


def _bilinear(r: random.Random):
    m = nn.Bilinear(2, 3, 4)
    m.weight = nn.Parameter(torch.randn(r.choice([4, 5]), r.choice([2, 3]), r.choice([3, 4])))
    if r.random() < 0.7:
        m.bias = nn.Parameter(torch.randn(m.weight.shape[0]))
    return m, (torch.zeros(2, r.choice([2, 3])), torch.zeros(2, r.choice([3, 4])))


def _norm(r: random.Random):
    kind, c, c2 = r.choice(["batch", "instance", "group"]), r.choice([2, 4]), r.choice([2, 4, 6])
    m = {"batch": lambda: nn.BatchNorm2d(c),
         "instance": lambda: nn.InstanceNorm2d(c, affine=r.random() < 0.5, track_running_stats=r.random() < 0.5),
         "group": lambda: nn.GroupNorm(2, c)}[kind]()
    if m.weight is not None:
        m.weight, m.bias = nn.Parameter(torch.ones(c2)), nn.Parameter(torch.zeros(c2))
    if getattr(m, "running_mean", None) is not None and r.random() < 0.7:
        m.running_mean, m.running_var = torch.zeros(c2), torch.ones(c2)
    if r.random() < 0.5:
        m.eval()
    return m, (torch.zeros(2, r.choice([c, c2]), 3, 3),)


def _layer_norm(r: random.Random):
    m = nn.LayerNorm(r.choice([3, 4]))
    d = r.choice([3, 4, 5])
    m.weight = nn.Parameter(torch.ones(d))
    if r.random() < 0.7:
        m.bias = nn.Parameter(torch.zeros(d))
    return m, (torch.zeros(2, r.choice([3, 4, 5])),)


def _embedding(r: random.Random):
    m = nn.Embedding(5, 3, padding_idx=r.choice([None, 4, -1]))
    m.weight = nn.Parameter(torch.randn(r.choice([3, 5, 7]), r.choice([2, 3])))
    return m, (torch.zeros(2, 3, dtype=torch.long),)


def _prelu(r: random.Random):
    m = nn.PReLU(r.choice([1, 3]))
    m.weight = nn.Parameter(torch.ones(r.choice([1, 2, 3])))
    return m, (torch.zeros(2, r.choice([1, 2, 3]), 4),)


BUILDERS = [_conv, _conv, _linear, _bilinear, _norm, _layer_norm, _embedding, _prelu]


def _torch_output(model: nn.Module, xs: tuple):
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(model(*xs).shape)
    except Exception:  # noqa: BLE001 - torch refusing it is the answer
        return None


@settings(max_examples=200)
@given(st.integers(0, len(BUILDERS) - 1), st.randoms(use_true_random=False))
def test_replaced_weights_trace_as_torch_runs_them(which, r) -> None:
    torch.manual_seed(0)
    layer, xs = BUILDERS[which](r)
    model = nn.Sequential(layer) if len(xs) == 1 else layer
    want = _torch_output(model, xs)
    data = xs[0] if len(xs) == 1 else list(xs)
    for device in ("meta", "cpu"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = shapetrace.summary(model, input_data=data, device=device)
        got = tuple(report.rows[0].output_shapes[0]) if report.ok else None
        assert got == want, (device, layer, {k: tuple(v.shape) for k, v in layer.state_dict().items()},
                             [tuple(x.shape) for x in xs], report.error and report.error.message)
