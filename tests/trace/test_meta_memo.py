"""trace/meta_memo.py: a remembered meta kernel's answer is the kernel's own (shape,
strides, dtype), aliases and in-place results are never remembered, errors raise every
time, and a real trace's rows are the same with the memo as without."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import shapetrace
from shapetrace.trace import meta_memo


def _kernel_calls():
    seen = []

    def kernel(func, args, kwargs):
        seen.append(func)
        return func(*args, **kwargs)

    return seen, kernel


def _meta(*shape, dtype=torch.float32):
    return torch.empty(*shape, dtype=dtype, device="meta")


@pytest.fixture(autouse=True)
def _fresh():
    meta_memo.clear()
    yield
    meta_memo.clear()


# (func, args, kwargs) on meta: each answered twice, the second from the memo
CALLS = [
    (torch.add, (_meta(2, 3), _meta(3)), {}),
    (torch.Tensor.__mul__, (_meta(4, 1, 5), _meta(3, 1)), {}),
    (torch.Tensor.__add__, (_meta(2, 3, dtype=torch.int64), 1.5), {}),  # promotes to the default dtype
    (torch.matmul, (_meta(2, 7, 8), _meta(8, 3)), {}),
    (torch.cat, ([_meta(2, 3), _meta(4, 3)],), {"dim": 0}),
    (torch.Tensor.mean, (_meta(2, 3, 5),), {"dim": -1, "keepdim": True}),
    (torch.Tensor.pow, (_meta(2, 3), 2), {}),
    (F.softmax, (_meta(2, 5, 5),), {"dim": -1, "dtype": torch.float64}),
    (torch.rsqrt, (_meta(6),), {}),
    (torch.Tensor.to, (_meta(2, 3),), {"dtype": torch.float16}),
    (torch.Tensor.contiguous, (torch.empty_strided((2, 3), (1, 2), device="meta"),), {}),
    (torch.Tensor.__getitem__, (_meta(5, 6), ([0, 2], slice(1, None, 2))), {}),
    (F.linear, (_meta(2, 8), torch.nn.Parameter(_meta(4, 8)), None), {}),
    (torch.where, (_meta(3, 1, dtype=torch.bool), _meta(1, 4), _meta(3, 4, dtype=torch.float64)), {}),
]


@pytest.mark.parametrize("func,args,kwargs", CALLS, ids=[str(i) for i in range(len(CALLS))])
def test_a_remembered_answer_is_the_kernels_own(func, args, kwargs):
    seen, kernel = _kernel_calls()
    with torch.no_grad():  # as the recorder runs a forward
        want = func(*args, **kwargs)
        first = meta_memo.run(func, args, kwargs, kernel)
        second = meta_memo.run(func, args, kwargs, kernel)
    assert len(seen) == 1  # the second came from the memo
    for got in (first, second):
        assert got.is_meta and type(got) is torch.Tensor
        assert (got.shape, got.stride(), got.dtype, got.storage_offset()) == \
               (want.shape, want.stride(), want.dtype, want.storage_offset())
        assert not got.requires_grad
    assert second is not first  # a new tensor each time


def test_the_key_sees_strides_dtype_and_the_default_dtype():
    seen, kernel = _kernel_calls()
    x = _meta(3, 4)
    a = meta_memo.run(torch.Tensor.contiguous, (x.t(),), {}, kernel)  # a copy: (4, 3) contiguous
    assert a.stride() == (3, 1)
    b = meta_memo.run(torch.Tensor.__mul__, (x, 2), {}, kernel)
    c = meta_memo.run(torch.Tensor.__mul__, (x.t(), 2), {}, kernel)  # other strides: asked again
    assert c.stride() == x.t().stride() and b.stride() == x.stride()
    i = _meta(3, dtype=torch.int64)
    before = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        assert meta_memo.run(torch.Tensor.__add__, (i, 0.5), {}, kernel).dtype == torch.float64
        torch.set_default_dtype(torch.float32)
        assert meta_memo.run(torch.Tensor.__add__, (i, 0.5), {}, kernel).dtype == torch.float32
    finally:
        torch.set_default_dtype(before)
    n = len(seen)
    meta_memo.run(torch.Tensor.__mul__, (x, 2.0), {}, kernel)  # 2.0 is not 2: its own answer
    assert len(seen) == n + 1


@pytest.mark.parametrize("name,call", [
    ("view", lambda x: (torch.Tensor.view, (x, 6), {})),
    ("transpose", lambda x: (torch.Tensor.transpose, (x, 0, 1), {})),
    ("detach", lambda x: (torch.Tensor.detach, (x,), {})),
    ("contiguous of a contiguous tensor", lambda x: (torch.Tensor.contiguous, (x,), {})),
    ("in place", lambda x: (torch.Tensor.add_, (x, 1), {})),
    ("slice", lambda x: (torch.Tensor.__getitem__, (x, (slice(None), slice(0, 2))), {})),
    ("split", lambda x: (torch.split, (x, 1), {})),
])
def test_aliases_and_tuples_are_never_remembered(name, call):
    seen, kernel = _kernel_calls()
    x = _meta(2, 3)
    func, args, kwargs = call(x)
    for _ in range(3):
        out = meta_memo.run(func, args, kwargs, kernel)
    assert len(seen) == 3  # run every time
    if isinstance(out, torch.Tensor) and name != "in place":
        assert out.untyped_storage()._cdata == x.untyped_storage()._cdata  # still an alias of x
    if name == "in place":
        assert out is x


def test_errors_raise_every_time_and_are_not_kept():
    seen, kernel = _kernel_calls()
    a, b = _meta(2, 3), _meta(4, 5)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="broadcast"):
            meta_memo.run(torch.add, (a, b), {}, kernel)
    assert len(seen) == 3


@pytest.mark.parametrize("why,args,kwargs", [
    ("a real tensor", (torch.zeros(2, 3), _meta(2, 3)), {}),
    ("no tensor", (2, 3), {}),
    ("out=", (_meta(2),), {"out": _meta(2)}),
    ("a callable argument", (_meta(2), lambda: 0), {}),
])
def test_calls_it_cannot_key_run_every_time(why, args, kwargs):
    seen = []

    def kernel(func, a, k):
        seen.append(func)
        return _meta(1)

    for _ in range(2):
        meta_memo.run(torch.add, args, kwargs, kernel)
    assert len(seen) == 2


def test_requires_grad_answers_are_not_kept():
    seen, kernel = _kernel_calls()
    w = torch.nn.Parameter(_meta(3, 3))
    with torch.enable_grad():
        for _ in range(2):
            out = meta_memo.run(torch.Tensor.__mul__, (w, 2), {}, kernel)
    assert out.requires_grad and out.grad_fn is not None
    assert len(seen) == 2


def test_the_table_is_bounded():
    _, kernel = _kernel_calls()
    x = _meta(2)
    for k in range(meta_memo.MAX_ENTRIES + 10):
        meta_memo.run(torch.Tensor.__mul__, (x, k), {}, kernel)
    assert len(meta_memo._ANSWERS) <= meta_memo.MAX_ENTRIES


def test_a_trace_is_the_same_with_the_memo_as_without():
    """Two traces of a small transformer-like model: the second answers from the memo, and
    every row is the same as the first's (the first asked the kernels)."""
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k = torch.nn.Linear(16, 16), torch.nn.Linear(16, 16)
            self.norm = torch.nn.LayerNorm(16)

        def forward(self, x):
            h = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
            att = (self.q(h) @ self.k(h).transpose(-1, -2)).softmax(-1)
            return self.norm(x + att @ h).contiguous()

    model = torch.nn.Sequential(Block(), Block())
    first = shapetrace.summary(model, input_size=(2, 5, 16))
    assert meta_memo._ANSWERS  # the kernels' answers were kept
    second = shapetrace.summary(model, input_size=(2, 5, 16))
    rows = lambda r: [(x.name, x.kind, x.input_shapes, x.output_shapes, x.macs, x.output_bytes) for x in r.rows]
    assert rows(first) == rows(second)
    meta_memo.clear()
    assert rows(shapetrace.summary(model, input_size=(2, 5, 16))) == rows(first)


def test_reshape_keeps_its_views_and_remembers_its_copies():
    """``reshape`` is a view where it can be (never from the memo: a new tensor would lose the
    alias) and a copy where it cannot (its slow kernel, remembered)."""
    seen, kernel = _kernel_calls()
    x = _meta(4, 6)
    for _ in range(2):
        view = meta_memo.run(torch.Tensor.reshape, (x, 24), {}, kernel)
        assert view.untyped_storage()._cdata == x.untyped_storage()._cdata
    assert len(seen) == 2
    xt = x.t()
    with torch.no_grad():
        copies = [meta_memo.run(torch.Tensor.reshape, (xt, 24), {}, kernel) for _ in range(3)]
    assert len(seen) == 3  # the copy's answer was asked once
    want = xt.reshape(24)
    assert all(c.shape == want.shape and c.stride() == want.stride() for c in copies)
    assert all(c.untyped_storage()._cdata != xt.untyped_storage()._cdata for c in copies)
    meta_memo.run(torch.Tensor.reshape, (x, 24), {}, kernel)  # still a view, asked again
    assert len(seen) == 4


def test_a_meta_factory_is_remembered_by_its_arguments():
    """values.MetaCalls asks a factory on meta for its size first (torch's meta factories are
    Python); the answer depends on the arguments and the default dtype only."""
    seen, kernel = _kernel_calls()
    for _ in range(3):
        out = meta_memo.run(torch.arange, (2, 11, 3), {"device": "meta"}, kernel, factory=True)
    assert len(seen) == 1 and out.shape == (3,) and out.dtype == torch.int64 and out.is_meta
    before = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        assert meta_memo.run(torch.ones, ((2, 3),), {"device": "meta"}, kernel, factory=True).dtype == torch.float64
    finally:
        torch.set_default_dtype(before)
    assert meta_memo.run(torch.ones, ((2, 3),), {"device": "meta"}, kernel, factory=True).dtype == before
    n = len(seen)
    meta_memo.run(torch.ones, ((2, 3),), {"device": "meta"}, kernel)  # not a factory call: never kept
    meta_memo.run(torch.ones, ((2, 3),), {"device": "meta"}, kernel)
    assert len(seen) == n + 2


def test_a_meta_trace_keeps_small_factories_real():
    """The memo answers the size check only: the factory's values still come from the CPU."""
    class Positions(torch.nn.Module):
        def forward(self, x):
            pos = torch.arange(x.shape[1], device=x.device)
            return x + pos.float() if bool((pos < 100).all()) else x

    for _ in range(2):
        report = shapetrace.summary(Positions(), input_data=torch.zeros(2, 5))
        assert report.ok and any(w.code == "input_values" for w in report.warnings)
