"""Our meta kernel for torch._grouped_mm (trace/meta_ops.py) against the CPU kernel: the
same output shape and dtype where the CPU accepts the call, an error where it refuses."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.trace import meta_ops, ops

from .test_zoo import module_rows, oracle

I32 = torch.int32


def _cases():
    off = torch.tensor([3, 5], dtype=I32)
    a, b = torch.randn(5, 8), torch.randn(2, 8, 12)
    return {
        "2d-3d": ((a, b), {"offs": off}),
        "2d-3d half": ((a.half(), b.half()), {"offs": off}),
        "2d-3d bf16 unaligned": ((a.bfloat16(), torch.randn(2, 8, 12).bfloat16()), {"offs": off}),
        "3d-3d": ((torch.randn(2, 5, 8), b), {}),
        "3d-3d batch mismatch": ((torch.randn(3, 5, 8), b), {}),
        "2d-2d": ((torch.randn(5, 8), torch.randn(8, 12)), {"offs": off}),
        "3d-2d": ((torch.randn(2, 5, 8), torch.randn(8, 12)), {"offs": off}),
        "3d-2d groups mismatch": ((torch.randn(3, 5, 8), torch.randn(8, 12)), {"offs": off}),
        "no offs": ((a, b), {}),
        "offs on 3d-3d": ((torch.randn(2, 5, 8), b), {"offs": off}),
        "int64 offs": ((a, b), {"offs": off.long()}),
        "2d offs": ((a, b), {"offs": off.view(2, 1)}),
        "groups mismatch": ((a, b), {"offs": torch.tensor([5], dtype=I32)}),
        "contraction mismatch": ((a, torch.randn(2, 4, 12)), {"offs": off}),
        "float64": ((a.double(), b.double()), {"offs": off}),
        "mixed dtypes": ((a, b.half()), {"offs": off}),
        "1d": ((torch.randn(8), b), {"offs": off}),
        "unaligned stride": ((torch.randn(5, 6), torch.randn(2, 6, 12)), {"offs": off}),
        "transposed b": ((a, b.transpose(1, 2).contiguous().transpose(1, 2)), {"offs": off}),
        "out_dtype same": ((a, b), {"offs": off, "out_dtype": torch.float32}),
        "out_dtype other": ((a, b), {"offs": off, "out_dtype": torch.bfloat16}),
        "bias": ((a, b), {"offs": off, "bias": torch.randn(2, 12)}),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_grouped_mm_on_meta_follows_the_cpu_kernel(name: str) -> None:
    args, kwargs = CASES[name]
    try:
        real = torch._grouped_mm(*args, **kwargs)
    except RuntimeError:
        real = None
    meta = lambda x: torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta") \
        if isinstance(x, torch.Tensor) else x
    margs, mkwargs = tuple(meta(a) for a in args), {k: meta(v) for k, v in kwargs.items()}
    if real is None:
        with pytest.raises(RuntimeError):
            meta_ops.grouped_mm(*margs, **mkwargs)
        return
    out = meta_ops.grouped_mm(*margs, **mkwargs)
    assert (out.shape, out.dtype, out.device.type) == (real.shape, real.dtype, "meta")


@pytest.mark.parametrize("name", ["2d-3d", "3d-3d", "2d-2d", "3d-2d"])
def test_grouped_mm_macs_are_the_groups_matmuls(name: str) -> None:
    """The sum over groups of each group's matmul (M_g x N_g x K_g), as torch.mm would count."""
    args, kwargs = CASES[name]
    a, b = args
    offs = kwargs.get("offs")
    ends = offs.tolist() if offs is not None else None
    starts = [0] + ends[:-1] if ends else None
    if a.dim() == 2 and b.dim() == 3:  # rows of a by group
        expected = sum((e - s) * b.shape[2] * a.shape[1] for s, e in zip(starts, ends))
        expected += (a.shape[0] - ends[-1]) * b.shape[2] * a.shape[1]  # rows past offs[-1] counted
    elif a.dim() == 3 and b.dim() == 3:
        expected = a.shape[0] * a.shape[1] * b.shape[2] * a.shape[2]
    elif a.dim() == 2 and b.dim() == 2:  # K by group
        expected = sum(a.shape[0] * b.shape[1] * (e - s) for s, e in zip(starts, ends))
        expected += a.shape[0] * b.shape[1] * (a.shape[1] - ends[-1])
    else:  # columns of b by group
        expected = sum(a.shape[1] * (e - s) * a.shape[2] for s, e in zip(starts, ends))
        expected += a.shape[1] * (b.shape[1] - ends[-1]) * a.shape[2]
    out = torch._grouped_mm(*args, **kwargs)
    assert ops.op_macs(torch._grouped_mm, args, kwargs, [out]) == expected


class Experts(nn.Module):
    """Tokens sorted by expert, one grouped GEMM over the experts' weights (as
    transformers 5's MoE experts do, in float32)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 8, 12))
        self.proj = nn.Linear(12, 8)

    def forward(self, x):
        offs = torch.tensor([2, 4, 6, 7], dtype=I32, device=x.device)
        return self.proj(torch._grouped_mm(x, self.weight, offs=offs))


def test_a_float32_grouped_gemm_traces_on_meta() -> None:
    model, x = Experts(), torch.randn(7, 8)
    report = shapetrace.summary(model, input_data=x, device="meta")
    assert report.ok, report.error
    assert module_rows(report) == oracle(model, (x,), {})
    assert [(r.output_shapes, r.macs) for r in report.rows if r.kind == "_grouped_mm"] == [([(7, 12)], 7 * 12 * 8)]
    # torch's own meta kernel is untouched outside a trace
    with pytest.raises(RuntimeError, match="BF16"):
        torch._grouped_mm(torch.empty(7, 8, device="meta"), torch.empty(4, 8, 12, device="meta"),
                          offs=torch.empty(4, dtype=I32, device="meta"))


@pytest.mark.parametrize("name", ["2d-3d", "3d-3d"])
def test_grouped_mm_by_keywords(name: str) -> None:
    # torch's Python names are input= and mat2=; the kernel and the MACs refused them (TypeError, None)
    args, kwargs = CASES[name]
    kw = {"input": args[0], "mat2": args[1], **kwargs}
    real = torch._grouped_mm(**kw)
    meta = {k: (v.to("meta") if isinstance(v, torch.Tensor) and k != "offs" else v) for k, v in kw.items()}
    out = meta_ops.grouped_mm(**meta)
    assert (out.shape, out.dtype) == (real.shape, real.dtype)
    assert ops.op_macs(torch._grouped_mm, (), kw, [real]) == ops.op_macs(torch._grouped_mm, args, kwargs, [real])
