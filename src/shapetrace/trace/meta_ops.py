"""Meta kernels of our own for ops whose torch meta kernel follows another device's rules
(and the losses' uint8 labels, which the CPU takes and torch's meta decomposition refuses:
``_byte_labels``).

``torch._grouped_mm`` (the grouped GEMM of mixture-of-experts layers: transformers 5's
Mixtral and Qwen2-MoE experts) has a meta kernel written after the CUDA kernel
(torch/_meta_registrations.py ``_meta_grouped_mm_common``: "Implementing all the checks
from _grouped_mm_cuda()"), which demands bfloat16, while the CPU kernel takes float32 and
float16 too. A meta trace stands for a CPU run, so the tracer answers the op itself with
the CPU kernel's checks (aten/src/ATen/native/GroupedMMUtils.h, checked against the CPU
kernel in tests/trace/test_meta_ops.py) and the output shape of
``_create_grouped_mm_output_tensor``. Only while a trace runs: the recorder's watcher
calls these, torch's own registrations are never touched.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from .call_args import arg

Tensor = torch.Tensor

_GROUPED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
_DTYPE_NAMES = {torch.float32: "Float", torch.bfloat16: "BFloat16", torch.float16: "Half", torch.float64: "Double"}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise RuntimeError(message)


def _strides_ok(mat: Tensor) -> None:
    """The kernel reads each matrix as row- or column-major with 16-byte aligned rows."""
    end = mat.dim() - 1
    align = 16 // mat.element_size()
    stride, size = mat.stride(), mat.shape
    if stride[end - 1] == 1 and stride[end] >= max(1, size[end - 1]):
        _check(stride[end] % align == 0, "strides should be multiple of 16 bytes")
    elif stride[end] == 1 and stride[end - 1] >= max(1, size[end]):
        _check(stride[end - 1] % align == 0, "strides should be multiple of 16 bytes")
    else:
        _check(False, f"Invalid strides/sizes, got {list(stride)} for strides and {list(size)} for sizes")


def grouped_mm(input: Tensor, mat2: Tensor, offs: Tensor | None = None, bias: Tensor | None = None,
               out_dtype: torch.dtype | None = None) -> Tensor:
    """``torch._grouped_mm`` on meta tensors, by the CPU kernel's rules. The parameters are
    torch's Python names (``input=``, ``mat2=`` work as keywords); its messages say mat_a, mat_b."""
    mat_a, mat_b = input, mat2
    for name, mat in (("mat_a", mat_a), ("mat_b", mat_b)):
        _check(mat.dim() in (2, 3), f"{name} has to be 2 or 3d")
    for name, mat in (("mat_a", mat_a), ("mat_b", mat_b)):
        _check(mat.dtype in _GROUPED_DTYPES, f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got "
                                             f"{_DTYPE_NAMES.get(mat.dtype, str(mat.dtype))}")
    a2, b2 = mat_a.dim() == 2, mat_b.dim() == 2
    if not (a2 and b2):
        _check(mat_a.shape[-1] == mat_b.shape[-2], "contraction dimension of mat_a and mat_b must match")
    _strides_ok(mat_a)
    _strides_ok(mat_b)
    _check((offs is not None) == (a2 or b2),
           "Have to provide offsets if there is a 2d matrix, or no offset if both matrices are 3d")
    if offs is not None:
        _check(offs.dim() == 1, "offs has to be 1D")
        _check(offs.dtype == torch.int32, "Offsets have to be int32")
    _check(bias is None, "Bias not supported yet")
    _check(out_dtype is None or out_dtype == mat_a.dtype, "Grouped gemm output dtype must match `mat_a` dtype")
    if a2 and b2:  # the contraction dim is split into groups: one (M, N) result per group
        shape = [offs.shape[0], mat_a.shape[0], mat_b.shape[1]]
    elif a2:  # rows of mat_a split into groups, one (K, N) matrix each
        _check(offs.shape[0] == mat_b.shape[0], "matrix batch sizes have to match")
        shape = [mat_a.shape[0], mat_b.shape[-1]]
    elif b2:  # columns of mat_b split into groups
        _check(offs.shape[0] == mat_a.shape[0], "matrix batch sizes have to match")
        shape = [mat_a.shape[1], mat_b.shape[1]]
    else:  # a batched matmul
        _check(mat_a.shape[0] == mat_b.shape[0], "batched dimension has to match")
        shape = [mat_a.shape[0], mat_a.shape[1], mat_b.shape[-1]]
    return torch.empty(shape, dtype=mat_a.dtype, device="meta")


def _byte_labels(func: Any) -> Callable[..., Tensor]:
    """``F.nll_loss``/``F.cross_entropy`` with uint8 class labels: the CPU kernel takes them
    ("expected target dtype to be Long or Byte"), torch's meta decomposition does not (its
    ``gather`` wants int32/int64). The same call with the labels as int64 has the same
    result shape and dtype."""
    def kernel(*args: Any, **kwargs: Any) -> Tensor:
        t = arg(args, kwargs, 1, "target")
        if isinstance(t, Tensor) and t.dtype == torch.uint8:
            if "target" in kwargs:
                kwargs = {**kwargs, "target": t.long()}
            else:
                args = (args[0], t.long(), *args[2:])
        return func(*args, **kwargs)
    return kernel


def _all_meta(args: tuple, kwargs: dict) -> bool:
    ts = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    return bool(ts) and all(t.device.type == "meta" for t in ts)


KERNELS: dict[Any, Callable[..., Tensor]] = {f: grouped_mm for f in (getattr(torch, "_grouped_mm", None),)
                                            if f is not None}
KERNELS.update({f: _byte_labels(f) for f in (torch.nn.functional.nll_loss, torch.nn.functional.cross_entropy)})


def run(func: Any, args: tuple, kwargs: dict) -> Any:
    """Our kernel's answer for ``func`` on meta tensors, or NotImplemented (torch's own)."""
    kernel = KERNELS.get(func)
    if kernel is None or not _all_meta(args, kwargs):
        return NotImplemented
    return kernel(*args, **kwargs)
