"""Drawn small CNNs (convolutions of every kind, pooling, padding, up- and down-sampling,
residual adds and concatenations, a Linear head): wherever the engine says its answer is
exact, it is the set brute force finds (a real CPU forward at every size of 1..14 x 1..14).
This is how the broadcast-of-1 answer (test_broadcast.py) was found."""

from __future__ import annotations

import random
import warnings

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from shapetrace.trace.symbolic_probe import analyze_model

from .oracle import grid, mismatches


def _layer(r: random.Random, c: int) -> tuple[nn.Module, int]:
    kind = r.choice(["conv", "dilated", "transposed", "max", "avg", "up", "pad", "bn", "relu", "adaptive", "unshuffle"])
    if kind == "conv":
        co = r.randint(1, 4)
        return nn.Conv2d(c, co, r.randint(1, 4), stride=r.randint(1, 3), padding=r.randint(0, 2)), co
    if kind == "dilated":
        co = r.randint(1, 3)
        return nn.Conv2d(c, co, r.randint(2, 3), dilation=r.randint(1, 3), padding=r.choice([0, "same"])), co
    if kind == "transposed":
        co = r.randint(1, 3)
        return nn.ConvTranspose2d(c, co, r.randint(1, 3), stride=r.randint(1, 3), padding=r.randint(0, 1)), co
    if kind == "max":
        return nn.MaxPool2d(r.randint(1, 3), stride=r.choice([None, 1, 2]), padding=r.choice([0, 1]),
                            ceil_mode=r.random() < 0.5), c
    if kind == "avg":
        return nn.AvgPool2d(r.randint(1, 3), stride=r.choice([None, 1, 2]), ceil_mode=r.random() < 0.5,
                            count_include_pad=r.random() < 0.5), c
    if kind == "up":
        return nn.Upsample(scale_factor=r.choice([2, 0.5]), mode=r.choice(["nearest", "bilinear"])), c
    if kind == "pad":
        return nn.ZeroPad2d(tuple(r.randint(-1, 2) for _ in range(4))), c
    if kind == "bn":
        return nn.BatchNorm2d(c), c
    if kind == "relu":
        return nn.ReLU(), c
    if kind == "adaptive":
        return nn.AdaptiveAvgPool2d((r.randint(1, 3), r.randint(1, 3))), c
    f = r.choice([1, 2])
    return nn.PixelUnshuffle(f), c * f * f


class Join(nn.Module):
    def __init__(self, a: nn.Module, b: nn.Module, add: bool):
        super().__init__()
        self.a, self.b, self.add = a, b, add

    def forward(self, x):
        y, z = self.a(x), self.b(x)
        return y + z if self.add else torch.cat([y, z], 1)


def _model(r: random.Random) -> tuple[nn.Module, int]:
    c = c0 = r.randint(1, 3)
    layers: list[nn.Module] = []
    for _ in range(r.randint(1, 4)):
        if r.random() < 0.25:
            a, ca = _layer(r, c)
            add = r.random() < 0.5
            b, cb = (nn.Conv2d(c, ca, r.randint(1, 3), padding=r.randint(0, 1)), ca) if add else _layer(r, c)
            layers.append(Join(a, b, add))
            c = ca if add else ca + cb
        else:
            layer, c = _layer(r, c)
            layers.append(layer)
    if r.random() < 0.5:
        layers += [nn.Flatten(), nn.Linear(r.choice([c, 4 * c, 9 * c]), 2)]
    return nn.Sequential(*layers).eval(), c0


@settings(max_examples=300)
@given(st.randoms(use_true_random=False))
def test_an_exact_answer_is_what_brute_force_finds(r) -> None:
    model, channels = _model(r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_model(model, (1, channels, 8, 8), max_size=14)
        if not res.exact:
            return  # probed, or resting on an assumption it names: test_broadcast.py
        wrong = mismatches(res, model, grid(res, (14, 14)))
    assert not wrong, (model, wrong[:5], res.boxes[:3])
