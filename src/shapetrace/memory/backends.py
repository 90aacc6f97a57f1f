"""What a backend's kernels save that a meta kernel does not size.

A fake tensor that says ``device='cpu'`` takes the CPU dispatch decisions (oneDNN for an LSTM,
the CPU flash kernel for ``scaled_dot_product_attention``) but runs the meta kernel, and one
meta kernel is wrong about memory: ``aten.mkldnn_rnn_layer`` returns an empty workspace, where
oneDNN's real one is about 180 KB for a 4 x 10 x 64 LSTM layer and grows with the sizes (it
holds every gate of every time step for the backward). Its size is read off the real kernel,
run once on zeros of the same shapes (cached by shapes), when that is small enough to run;
otherwise the row is marked as a lower bound.
"""

from __future__ import annotations

import functools

# Run the real oneDNN layer to size its workspace only up to this many bytes of inputs,
# weights and outputs (a few ms of CPU); above it the row is a lower bound.
PROBE_LIMIT = 256 * 2**20


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

    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    size = sum(t.numel() * t.element_size() for t in tensors)
    x = args[0]
    size += x.numel() // max(1, x.shape[-1]) * int(args[10]) * x.element_size()  # the output
    if size > PROBE_LIMIT:
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
