"""A convolution's shape checks that torch's meta kernel skips (``trace/meta_shapes``):
groups that do not divide the weight, a bias that is not one value per output channel,
a transposed convolution's input channels. On a grid of functional calls in a model's own
forward, the meta trace accepts exactly what a real CPU forward accepts; a plain meta
forward (the kernel alone) would not, which is what the grid checks first."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import shapetrace
from shapetrace.trace import meta_shapes


class Call(nn.Module):
    def __init__(self, fn, weight, bias, groups):
        super().__init__()
        self.fn, self.groups = fn, groups
        self.w = nn.Parameter(torch.zeros(weight))
        self.b = None if bias is None else nn.Parameter(torch.zeros(bias))

    def forward(self, x):
        return self.fn(x, self.w, self.b, groups=self.groups)


def _accepts(fn, x, w, b, groups) -> bool:
    try:
        fn(x, w, b, groups=groups)
        return True
    except RuntimeError:
        return False


def _grid():
    for n, transposed in itertools.product((1, 2), (False, True)):
        fn = getattr(F, f"conv_transpose{n}d" if transposed else f"conv{n}d")
        for groups, w0, w1, bias, channels in itertools.product((1, 2, 3), (2, 3, 4, 6), (1, 2), ("none", "fits", 5),
                                                                (2, 3, 4, 6)):
            out = w1 * groups if transposed else w0
            b = None if bias == "none" else (out,) if bias == "fits" else (bias,)
            yield fn, (w0, w1) + (2,) * n, b, groups, (1, channels) + (4,) * n


GRID = list(_grid())


def test_the_meta_kernel_alone_takes_what_the_cpu_refuses() -> None:
    # why meta_shapes exists: without it the meta trace took these (the grid would pass trivially otherwise)
    skipped = 0
    for fn, w, b, groups, x in GRID:
        cpu = _accepts(fn, torch.zeros(x), torch.zeros(w), None if b is None else torch.zeros(b), groups)
        meta = _accepts(fn, torch.empty(x, device="meta"), torch.empty(w, device="meta"),
                        None if b is None else torch.empty(b, device="meta"), groups)
        skipped += meta and not cpu
    assert skipped > 100


@pytest.mark.parametrize("part", range(4))
def test_a_meta_trace_accepts_what_the_cpu_accepts(part) -> None:
    for fn, w, b, groups, x in GRID[part::4]:
        model = Call(fn, w, b, groups)
        want = _accepts(fn, torch.zeros(x), torch.zeros(w), None if b is None else torch.zeros(b), groups)
        report = shapetrace.summary(model, input_size=x, device="meta")
        assert report.ok == want, (fn.__name__, w, b, groups, x, report.error and report.error.message)


def test_the_words_name_the_tensors() -> None:
    def refused(fn, x, w, b=None, groups=1):
        with pytest.raises(meta_shapes.ShapeRefused) as e:
            meta_shapes.check(fn, (torch.empty(x, device="meta"), torch.empty(w, device="meta"),
                                   None if b is None else torch.empty(b, device="meta")), {"groups": groups})
        return str(e.value)

    assert refused(F.conv2d, (1, 2, 6, 6), (5, 2, 3, 3), (8,)) == (
        "the bias of shape (8,) does not fit the weight of shape (5, 2, 3, 3), which makes 5 output channels: "
        "torch needs a bias of shape (5,)")
    assert "does not split into groups=2 along dim 0" in refused(torch.conv2d, (1, 2, 6, 6), (5, 1, 3, 3), groups=2)
    assert refused(F.conv_transpose2d, (1, 3, 5, 5), (2, 4, 3, 3)) == (
        "the weight of shape (2, 4, 3, 3) takes 2 input channels, but the input of shape (1, 3, 5, 5) has 3")
    meta_shapes.check(F.conv2d, (torch.empty(1, 2, 6, 6, device="meta"), torch.empty(5, 2, 3, 3, device="meta")), {})
