"""What a backend's kernels save that a meta kernel does not size.

A fake tensor that says ``device='cpu'`` takes the CPU dispatch decisions (oneDNN for an LSTM,
the CPU flash kernel for ``scaled_dot_product_attention``) but runs the meta kernel, and one
meta kernel is wrong about memory: ``aten.mkldnn_rnn_layer`` returns an empty workspace, where
oneDNN's real one is about 180 KB for a 4 x 10 x 64 LSTM layer and grows with the sizes (it
holds every gate of every time step for the backward). Its size is read off the real kernel,
run once on zeros of the same shapes (cached by shapes), when that is small enough to run;
otherwise the row is marked as a lower bound (``PROBE_FLOPS``).
"""

from __future__ import annotations

import functools

# Run the real oneDNN layer to size its workspace only up to this many FLOPs (about 0.3 s of
# one CPU core; the time grows with the work, not the bytes); above it the row is a lower
# bound. The workspace is not a formula of the sizes that could be written down: oneDNN
# rounds it to pages (10 x 4 x 16 -> 32: 90112 bytes; twice the steps: 176128).
PROBE_FLOPS = 2 * 10**9


def allocation_block(backend: str) -> int:
    """The bytes a storage really takes are a multiple of this: CUDA's caching allocator hands
    out blocks of at least 512 bytes (kMinBlockSize in c10/cuda/CUDACachingAllocator.cpp; MemTracker
    rounds CUDA storages the same way), unless PYTORCH_NO_CUDA_MEMORY_CACHING is set. The CPU
    allocator takes what is asked."""
    import os

    # any value but "0" (or empty) turns caching off; "true" raised ValueError here before
    if backend == "cuda" and os.environ.get("PYTORCH_NO_CUDA_MEMORY_CACHING", "").strip() in ("", "0"):
        return 512
    return 1


def cuda_fake_ok() -> bool:
    """A fake CUDA tensor in autograd needs a torch built with CUDA (a CPU-only build aborts
    the process in AccumulateGrad's device guard), not a GPU."""
    import torch

    return torch.backends.cuda.is_built() and torch.version.cuda is not None


def is_rnn_workspace_op(func) -> bool:
    import torch

    return func is torch.ops.aten.mkldnn_rnn_layer.default


def rnn_workspace_bytes(args) -> int | None:
    """The real oneDNN workspace size (bytes) for these arguments, or None if too big to probe."""
    import torch

    x, w_ih, w_hh = args[0], args[1], args[2]
    steps = x.numel() // max(1, x.shape[-1])  # time steps x batch
    if 2 * steps * (w_ih.numel() + w_hh.numel()) > PROBE_FLOPS:  # a multiply-add per weight and step
        return None
    key = tuple((tuple(a.shape), a.dtype) if isinstance(a, torch.Tensor) else
                (tuple(a) if isinstance(a, list) else a) for a in args)
    return _probe(key)


@functools.lru_cache(maxsize=256)
def _probe(key) -> int:
    import torch
    from torch._subclasses.fake_tensor import unset_fake_temporarily
    from torch.utils._python_dispatch import _disable_current_modes

    # not under no_grad: the kernel returns no workspace (None) when grad mode is off
    with unset_fake_temporarily(), _disable_current_modes():
        real = [torch.zeros(k[0], dtype=k[1]) if isinstance(k, tuple) and len(k) == 2
                and isinstance(k[1], torch.dtype) else (list(k) if isinstance(k, tuple) else k)
                for k in key]
        out = torch.ops.aten.mkldnn_rnn_layer.default(*real)
        return int(out[3].untyped_storage().nbytes())
