"""Drawn calls of common torch ops on drawn shapes, in a model's forward: the meta trace
(the default) accepts exactly what a real CPU forward accepts, with the same output shape.
This is how trace/meta_shapes' gaps were found (torch's meta kernels skip some of the
CPU's checks); the draw keeps looking for more of them."""

from __future__ import annotations

import random
import warnings

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import shapetrace


def _sh(r: random.Random, n: int, lo: int = 1, hi: int = 4) -> tuple[int, ...]:
    return tuple(r.randint(lo, hi) for _ in range(n))


# Each: r -> (input shape, parameter shapes, fn(x, *params)).
def _linear(r):
    i, o = r.randint(1, 4), r.randint(1, 4)
    return _sh(r, r.randint(1, 3)) + (r.choice([i, i, i + 1]),), [(o, i), (r.choice([o, o, 1, 2, o + 1]),)], F.linear


def _matmul(r):
    return _sh(r, r.randint(1, 3)), [_sh(r, r.randint(1, 3))], torch.matmul


def _addmm(r):
    n, k, p = _sh(r, 3)
    return (n, k), [r.choice([(n, p), (p,), (1, p), (n, 1), (r.randint(1, 4),), _sh(r, 2)]), (k, p)], \
        lambda x, a, b: torch.addmm(a, x, b)


def _softmax(r):
    d = r.randint(-4, 3)
    return _sh(r, r.randint(1, 3)), [], lambda x: F.softmax(x, dim=d)


def _sort(r):
    d = r.randint(-4, 3)
    return _sh(r, r.randint(1, 3)), [], lambda x: torch.sort(x, dim=d)[0]


def _layer_norm(r):
    s = _sh(r, r.randint(1, 3))
    ns = s[-1:] if r.random() < 0.7 else (r.randint(1, 4),)
    return s, [r.choice([ns, (r.randint(1, 4),)])], lambda x, w: F.layer_norm(x, ns, w)


def _group_norm(r):
    s = (r.randint(1, 3),) + _sh(r, r.randint(1, 3))
    g = r.randint(1, 4)
    return s, [(r.choice([s[1], s[1] + 1]),)], lambda x, w: F.group_norm(x, g, w)


def _conv(r):
    n = r.choice([1, 2])
    g = r.choice([1, 2])
    w = (r.randint(1, 4), r.randint(1, 3)) + (r.randint(1, 3),) * n
    fn = F.conv1d if n == 1 else F.conv2d
    return (1, r.randint(1, 6)) + (r.randint(2, 6),) * n, [w, (r.choice([w[0], r.randint(1, 5)]),)], \
        lambda x, w_, b: fn(x, w_, b, groups=g)


def _conv_t(r):
    g = r.choice([1, 2])
    w = (r.randint(1, 4), r.randint(1, 3), r.randint(1, 3), r.randint(1, 3))
    return (1, r.randint(1, 6), r.randint(2, 5), r.randint(2, 5)), [w], lambda x, w_: F.conv_transpose2d(x, w_, groups=g)


def _pool(r):
    k, s, p = r.randint(1, 4), r.choice([None, 1, 2]), r.randint(0, 2)
    fn = r.choice([F.max_pool2d, F.avg_pool2d])
    return _sh(r, r.choice([3, 4]), 1, 6), [], lambda x: fn(x, k, stride=s, padding=p)


def _adaptive(r):
    o = (r.randint(1, 3), r.randint(1, 3))
    return _sh(r, r.choice([3, 4]), 0, 4), [], lambda x: F.adaptive_avg_pool2d(x, o)


def _interpolate(r):
    sf, mode = r.choice([2, 0.5]), r.choice(["nearest", "bilinear"])
    return _sh(r, 4, 1, 4), [], lambda x: F.interpolate(x, scale_factor=sf, mode=mode)


def _cat(r):
    d = r.randint(-3, 2)
    return _sh(r, 3), [_sh(r, 3)], lambda x, y: torch.cat([x, y], dim=d)


def _view(r):
    s = tuple(r.choice([-1, 1, 2, 3, 4, 6]) for _ in range(r.randint(1, 3)))
    return _sh(r, 3), [], lambda x: x.reshape(s)


def _transpose(r):
    a, b = r.randint(-4, 3), r.randint(-4, 3)
    return _sh(r, 3), [], lambda x: x.transpose(a, b)


def _sdpa(r):
    b, h, l, s, e = _sh(r, 5)
    mask = r.choice([(l, s), (l, s + 1), (s,), (b, 1, l, s), (h + 1, l, s), (1, 1, 1, s)])
    return (b, h, l, e), [(b, h, s, e), (b, h, s, e), mask], \
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)


def _bmm(r):
    return _sh(r, 3), [_sh(r, 3)], torch.bmm


def _index_add(r):
    d = r.randint(-2, 1)
    return _sh(r, 2), [_sh(r, 2)], lambda x, src: x.index_add(d, torch.zeros(src.shape[d % 2] if src.dim() == 2
                                                                             else 1, dtype=torch.long), src)


def _bilinear(r):
    return (2, r.randint(1, 3)), [(2, r.randint(1, 3)), _sh(r, 3), (r.randint(1, 3),)], F.bilinear


def _masked_fill(r):
    mask = _sh(r, r.randint(1, 3))  # drawn here: a lambda drawing at each call would differ per device
    return _sh(r, r.randint(1, 3)), [], lambda x: x.masked_fill(torch.zeros(mask, dtype=torch.bool), 0.0)


def _where(r):
    cond = _sh(r, r.randint(1, 3))
    return _sh(r, r.randint(1, 3)), [_sh(r, r.randint(1, 3))], \
        lambda x, y: torch.where(torch.zeros(cond, dtype=torch.bool), x, y)


def _expand(r):
    s = tuple(r.choice([-1, 1, 2, 3]) for _ in range(r.randint(1, 4)))
    return _sh(r, r.randint(1, 3)), [], lambda x: x.expand(s)


def _repeat(r):
    s = tuple(r.randint(0, 2) for _ in range(r.randint(1, 4)))
    return _sh(r, r.randint(1, 3)), [], lambda x: x.repeat(*s)


def _gather(r):
    d = r.randint(-2, 1)
    idx = _sh(r, r.choice([1, 2, 3]))
    return _sh(r, 2), [], lambda x: torch.gather(x, d, torch.zeros(idx, dtype=torch.long))


def _stack(r):
    d = r.randint(-4, 3)
    return _sh(r, 3), [_sh(r, 3)], lambda x, y: torch.stack([x, y], dim=d)


def _chunk(r):
    c, d = r.randint(1, 3), r.randint(-4, 3)
    return _sh(r, 3), [], lambda x: x.chunk(c, d)[0]


def _pad(r):
    p = tuple(r.randint(-2, 3) for _ in range(r.choice([2, 4])))
    mode = r.choice(["constant", "reflect", "replicate", "circular"])
    return _sh(r, r.choice([2, 3, 4]), 1, 4), [], lambda x: F.pad(x, p, mode=mode)


def _unfold(r):
    k, d, p, st_ = r.randint(1, 4), r.randint(1, 2), r.randint(0, 1), r.randint(1, 2)
    return _sh(r, 4, 1, 6), [], lambda x: F.unfold(x, k, dilation=d, padding=p, stride=st_)


def _pixel_shuffle(r):
    f = r.randint(1, 3)
    return _sh(r, r.choice([3, 4, 5]), 1, 8), [], lambda x: F.pixel_shuffle(x, f)


def _narrow(r):
    d, a, n = r.randint(-3, 2), r.randint(-3, 3), r.randint(0, 3)
    return _sh(r, 2), [], lambda x: x.narrow(d, a, n)


def _topk(r):
    k, d = r.randint(0, 5), r.randint(-3, 2)
    return _sh(r, 2), [], lambda x: torch.topk(x, k, dim=d)[0]


def _einsum(r):
    return _sh(r, 3), [_sh(r, 3)], lambda x, y: torch.einsum("bij,bjk->bik", x, y)


def _embedding(r):
    n = r.randint(1, 4)
    return _sh(r, r.randint(1, 3)), [(n, r.randint(1, 3))], lambda x, w: F.embedding(x.long(), w)


def _group_conv_module(r):
    g = r.choice([1, 2, 3])
    conv = nn.Conv2d(g * r.randint(1, 2), g * r.randint(1, 2), r.randint(1, 3), groups=g, padding=r.choice([0, 1, "same"]))
    return (1, r.randint(1, 6), r.randint(1, 5), r.randint(1, 5)), [], lambda x: conv(x)


BUILDERS = [_masked_fill, _where, _expand, _repeat, _gather, _stack, _chunk, _pad, _unfold, _pixel_shuffle, _narrow,
            _topk, _einsum, _embedding, _group_conv_module, _linear, _matmul, _addmm, _softmax, _sort, _layer_norm, _group_norm, _conv, _conv_t, _pool, _adaptive,
            _interpolate, _cat, _view, _transpose, _sdpa, _bmm, _index_add, _bilinear]


class Call(nn.Module):
    def __init__(self, fn, shapes):
        super().__init__()
        self.fn = fn
        self.ps = nn.ParameterList([nn.Parameter(torch.zeros(s)) for s in shapes])

    def forward(self, x):
        return self.fn(x, *self.ps)


def _cpu(model, shape):
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(model(torch.zeros(shape)).shape)
    except (RuntimeError, IndexError, ValueError):
        return None


@settings(max_examples=400)
@given(st.integers(0, len(BUILDERS) - 1), st.randoms(use_true_random=False))
def test_a_meta_trace_accepts_what_the_cpu_accepts(which, r) -> None:
    shape, params, fn = BUILDERS[which](r)
    model = Call(fn, params)
    want = _cpu(model, shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = shapetrace.summary(model, input_size=shape, device="meta")
    got = tuple(report.rows[0].output_shapes[0]) if report.ok else None
    assert got == want, (BUILDERS[which].__name__, shape, params, report.error and report.error.message)
