"""The tracer's shape-only meta fast path against real torch on small CPU tensors: the same
shape and dtype where torch succeeds, an error (with torch's words) where torch raises."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetrace.trace import meta_fast

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)

dims = st.lists(st.integers(1, 4), min_size=0, max_size=4)
dtypes = st.sampled_from([torch.float32, torch.float16, torch.int64, torch.int32, torch.bool])
BINARY = [torch.add, torch.mul, torch.sub, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__,
          torch.Tensor.__mul__, torch.Tensor.__rsub__]
INPLACE = [torch.Tensor.add_, torch.Tensor.mul_, torch.Tensor.__iadd__, torch.Tensor.__isub__]


def _tensor(shape, dtype, device):
    return torch.ones(shape, dtype=dtype, device=device)


def _real(func, args):
    try:
        out = func(*args)
    except (RuntimeError, TypeError, IndexError, ValueError) as e:
        return e
    return out


def _fast(func, args):
    meta = tuple(torch.empty_like(a, device="meta") if isinstance(a, torch.Tensor) else a for a in args)
    try:
        out = meta_fast.meta_fast(func, meta, {})
    except RuntimeError as e:
        return e, meta
    return out, meta


@SETTINGS
@given(a=dims, b=dims, da=dtypes, db=dtypes, func=st.sampled_from(BINARY + INPLACE))
def test_binary_ops_match_torch(a, b, da, db, func):
    x, y = _tensor(a, da, "cpu"), _tensor(b, db, "cpu")
    real = _real(func, (x.clone(), y))
    fast, meta = _fast(func, (x, y))
    if fast is NotImplemented:
        return  # the tracer hands the call to torch
    if isinstance(real, Exception):
        assert isinstance(fast, Exception), (func, a, b, da, db, real)
        if "must match the size" in str(real):
            assert str(fast) == str(real)
        return
    assert not isinstance(fast, Exception), (func, a, b, da, db, fast)
    assert (tuple(fast.shape), fast.dtype) == (tuple(real.shape), real.dtype)
    if func in INPLACE:
        assert fast is meta[0]


@SETTINGS
@given(a=dims, scalar=st.sampled_from([2, 2.5, True]), da=dtypes, func=st.sampled_from(BINARY))
def test_binary_ops_with_a_python_number(a, scalar, da, func):
    x = _tensor(a, da, "cpu")
    real = _real(func, (x, scalar))
    fast, _ = _fast(func, (x, scalar))
    if fast is NotImplemented:
        return
    if isinstance(real, Exception):
        assert isinstance(fast, Exception)
        return
    assert (tuple(fast.shape), fast.dtype) == (tuple(real.shape), real.dtype)


@SETTINGS
@given(shapes=st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=4), min_size=1, max_size=4),
       dim=st.integers(-4, 3), dt=st.lists(st.sampled_from([torch.float32, torch.int64, torch.float16]),
                                           min_size=4, max_size=4))
def test_cat_matches_torch(shapes, dim, dt):
    ts = [_tensor(s, d, "cpu") for s, d in zip(shapes, dt)]
    real = _real(lambda *t: torch.cat(list(t), dim), ts)
    meta = [torch.empty_like(t, device="meta") for t in ts]
    try:
        fast = meta_fast.meta_fast(torch.cat, (meta, dim), {})
    except RuntimeError as e:
        fast = e
    if fast is NotImplemented:
        return
    if isinstance(real, Exception):
        assert isinstance(fast, Exception) and str(fast) == str(real)
        return
    assert (tuple(fast.shape), fast.dtype) == (tuple(real.shape), real.dtype)


@pytest.mark.parametrize("func, args, same", [
    (F.relu, (), False), (F.relu, (True,), True), (torch.relu_, (), True), (F.gelu, (), False),
    (F.leaky_relu, (0.1, True), True), (torch.Tensor.sigmoid, (), False),
])
def test_activations(func, args, same):
    x = torch.empty(2, 3, device="meta")
    out = meta_fast.meta_fast(func, (x, *args), {})
    assert (out is x) == same and out.shape == x.shape and out.dtype == x.dtype


def test_unusual_calls_go_to_torch():
    x = torch.empty(2, 3, device="meta")
    assert meta_fast.meta_fast(torch.add, (x.t(), x.t()), {}) is NotImplemented  # not contiguous
    assert meta_fast.meta_fast(torch.add, (x, x), {"out": x}) is NotImplemented
    assert meta_fast.meta_fast(torch.add, (torch.empty(2, 3), x), {}) is NotImplemented  # a CPU tensor
    assert meta_fast.meta_fast(F.relu, (torch.empty(2, 3, dtype=torch.long, device="meta"),), {}) is NotImplemented
