"""The optimizer of the step, as torch builds it, on fake parameters.

torch.optim's own classes run the step, so their state is what torch keeps (the PyTorch
docs pages torch.optim.SGD / Adam / AdamW): SGD none, SGD with momentum one
``momentum_buffer`` per parameter, Adam and AdamW ``exp_avg`` and ``exp_avg_sq`` per
parameter in the parameter's dtype plus a float32 ``step`` scalar each. ``foreach`` is set
as torch's default picks it for the backend (on for CUDA, off for CPU), because the foreach
kernels' temporaries count towards the peak.
"""

from __future__ import annotations

from .options import Backend, Optimizer


def build(kind: Optimizer, params: list, backend: Backend):
    import torch

    foreach = backend is Backend.CUDA
    if kind is Optimizer.SGD:
        return torch.optim.SGD(params, lr=0.01, foreach=foreach)
    if kind is Optimizer.MOMENTUM:
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    if kind is Optimizer.ADAM:
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    return torch.optim.AdamW(params, lr=1e-3, foreach=foreach)


def warm_up(opt, params: list) -> None:
    """One step on zero gradients, so the state exists as in every step after the first
    (the steady state, whose peak is the one that decides whether training fits)."""
    import torch

    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()
    opt.zero_grad(set_to_none=True)


def state_storages(opt) -> list:
    """Every tensor of the optimizer's state (per parameter: a dict of buffers and counters)."""
    from ..trace.inputs import tensors

    return tensors(list(opt.state.values()))
