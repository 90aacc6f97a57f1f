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


def _other_calls():
    """(function, CPU args, meta args) for the other checks, on small grids."""
    def both(*shapes):
        return [torch.zeros(s) for s in shapes], [torch.empty(s, device="meta") for s in shapes]

    for fn in (F.softmax, F.log_softmax, F.softmin, torch.softmax, torch.Tensor.softmax, torch.log_softmax,
               torch.sort, torch.Tensor.sort, torch.argsort):
        for shape, dim in itertools.product(((), (3,), (2, 3), (2, 3, 4)), range(-4, 4)):
            cpu, meta = both(shape)
            yield fn, (*cpu, dim), (*meta, dim)
    sizes = ((), (1,), (2,), (3,), (1, 3), (2, 1), (2, 3), (3, 3), (1, 1, 3))
    for fn, a, b in ((torch.addmm, (2, 4), (4, 3)), (torch.Tensor.addmm, (2, 4), (4, 3)), (torch.addmv, (2, 4), (4,))):
        for added in sizes:
            cpu, meta = both(added, a, b)
            yield fn, tuple(cpu), tuple(meta)
    for x, out, bias in itertools.product(((3,), (2, 3), (4, 2, 3)), (1, 2, 4), ((1,), (2,), (4,), (8,))):
        cpu, meta = both(x, (out, 3), bias)
        yield F.linear, tuple(cpu), tuple(meta)
    for x, dim, n, src in itertools.product(((3, 4), (2, 3, 4)), (-2, 0, 1), (1, 2), ((2, 4), (2, 3), (2,), (2, 3, 4))):
        cpu, meta = both(x, src)
        yield torch.Tensor.index_add, (cpu[0], dim, torch.zeros(n, dtype=torch.long), cpu[1]), \
            (meta[0], dim, torch.empty(n, dtype=torch.long, device="meta"), meta[1])
    for mask in itertools.chain(*(itertools.product((1, 2, 3, 4, 5), repeat=k) for k in (1, 2, 3)),
                                [(2, 3, 4, 5), (1, 2, 3, 4, 5), (2, 2, 4, 5)]):
        cpu, meta = both((2, 3, 4, 2), (2, 3, 5, 2), (2, 3, 5, 2), mask)
        yield F.scaled_dot_product_attention, tuple(cpu), tuple(meta)
    for n in (1, 2, 3):
        fn = getattr(F, f"adaptive_avg_pool{n}d")
        for shape in itertools.chain(itertools.product(*[(0, 2)] * (n + 1)), itertools.product(*[(0, 2)] * (n + 2))):
            cpu, meta = both(shape)
            yield fn, (*cpu, (2,) * n), (*meta, (2,) * n)


def _outcome(fn, args):
    try:
        fn(*args)
        return None
    except (RuntimeError, IndexError) as e:
        return str(e).splitlines()[0]


def test_the_other_checks_raise_the_cpus_words_where_the_meta_kernel_does_not() -> None:
    caught = 0
    for fn, cpu_args, meta_args in _other_calls():
        cpu, kernel = _outcome(fn, cpu_args), _outcome(fn, meta_args)
        assert fn in meta_shapes.CHECKS, fn
        ours = _outcome(lambda *a: meta_shapes.check(fn, a, {}), meta_args)
        if cpu is None:
            assert ours is None, (fn, [tuple(a.shape) for a in cpu_args if isinstance(a, torch.Tensor)], ours)
        elif kernel is None:  # the meta kernel takes what the CPU refuses: ours must not
            assert ours == cpu, (fn, [tuple(a.shape) for a in cpu_args if isinstance(a, torch.Tensor)], ours, cpu)
            caught += 1
    assert caught > 50


class _Op(nn.Module):
    def __init__(self, fn, *extra):
        super().__init__()
        self.fn, self.extra = fn, extra

    def forward(self, x):
        return self.fn(x, *self.extra)


@pytest.mark.parametrize("fn, extra, shape", [
    (F.softmax, (2,), (2, 3)), (torch.Tensor.softmax, (-3,), (2, 3)), (torch.softmax, (5,), (2, 3)),
    (F.adaptive_avg_pool2d, ((2, 2),), (1, 3, 0, 4)), (F.adaptive_avg_pool2d, ((2, 2),), (1, 0, 4, 4)),
    (F.linear, (torch.zeros(1, 3), torch.zeros(2)), (4, 3)), (F.linear, (torch.zeros(2, 3), torch.zeros(2)), (4, 3)),
    (torch.sort, (2,), (2, 3)),
    (F.scaled_dot_product_attention, (torch.zeros(2, 1, 4, 2), torch.zeros(2, 1, 4, 2), torch.zeros(4, 3)), (2, 1, 4, 2)),
    (F.scaled_dot_product_attention, (torch.zeros(2, 1, 4, 2), torch.zeros(2, 1, 4, 2), torch.zeros(2, 1, 1, 4)),
     (2, 1, 4, 2)),
])
def test_a_meta_trace_of_the_op_agrees_with_the_cpu(fn, extra, shape) -> None:
    model = _Op(fn, *extra)
    want = _outcome(model, (torch.zeros(shape),))
    for device in ("meta", "cpu"):
        report = shapetrace.summary(model, input_size=shape, device=device)
        assert report.ok == (want is None), (device, report.error)
        if want is not None:
            assert " ".join(want.split()) in report.error.message


def test_linear_interpolation_to_or_from_size_0_is_refused_as_on_the_cpu() -> None:
    # the meta kernels of linear/bilinear/bicubic/trilinear give size 0 where the CPU refuses;
    # ``after`` reads the result's sizes (made here as the kernel makes them: torch's Python
    # decompositions take ~30 ms a call, so the kernel itself runs once, in the trace below)
    caught = 0
    for n, mode in ((1, "linear"), (2, "bilinear"), (2, "bicubic"), (3, "trilinear")):
        for shape in itertools.product((0, 1, 2), (0, 1, 2), *[(0, 1, 3)] * n):
            for kw in (dict(scale_factor=0.5), dict(scale_factor=2), dict(size=(0,) * n), dict(size=(2,) * n)):
                cpu = _outcome(lambda: F.interpolate(torch.zeros(shape), mode=mode, **kw), ())
                sizes = kw.get("size") or tuple(int(d * kw["scale_factor"]) for d in shape[2:])
                out = torch.empty(shape[:2] + tuple(sizes), device="meta")
                ours = _outcome(lambda: meta_shapes.after(F.interpolate, (torch.empty(shape, device="meta"),),
                                                          dict(mode=mode, **kw), out), ())
                assert ours == cpu, (shape, mode, kw)
                caught += cpu is not None
    assert caught > 500
    report = shapetrace.summary(_Op(F.interpolate, None, 0.5, "bilinear"), input_size=(1, 1, 1, 1), device="meta")
    assert not report.ok and "Input and output sizes should be greater than 0" in report.error.message


def test_an_op_that_refuses_its_arguments_everywhere_is_a_diagnosis_not_a_meta_limit() -> None:
    # F.pad raises NotImplementedError for a padding its mode does not support, on every
    # device; a meta trace said "cannot run on the meta device; trace it with device='cpu'"
    model = _Op(F.pad, (1, 1, 1, 1), "reflect")
    for device in ("meta", "cpu"):
        report = shapetrace.summary(model, input_size=(2, 3), device=device)
        assert not report.ok and "Padding size 4 is not supported for 2D input tensor" in report.error.message

    class NonZero(nn.Module):  # a real meta limit still says so
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(x).nonzero()

    with pytest.raises(shapetrace.ModelError, match="cannot run on the meta device .*device='cpu'"):
        shapetrace.summary(NonZero(), input_size=(2, 3), device="meta")
