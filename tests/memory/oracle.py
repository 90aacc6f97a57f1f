"""The oracles: a real CPU training step, measured by torch itself.

* ``real_saved``: ``saved_tensors_hooks`` on real tensors; the distinct storages (by
  ``untyped_storage()`` identity, held alive so identities cannot be reused) that autograd
  saves in the forward, parameters and buffers left out, each attributed to the innermost
  module call running (rows in call order, as shapetrace keys them).
* ``memtracker_peak``: ``torch.distributed._tools.mem_tracker.MemTracker``'s peak of a real
  steady-state step (one warm-up step first, as its docs do).
* ``real_flops``: ``torch.utils.flop_counter.FlopCounterMode`` over a real forward+backward.
"""

from __future__ import annotations

import contextlib
import copy

import torch
from torch.distributed._tools.mem_tracker import MemTracker
from torch.utils.flop_counter import FlopCounterMode


def _forward(model, inputs, amp):
    """The forward, under autocast when ``amp`` is a dtype (the backward runs outside it, as
    the AMP recipe in the PyTorch docs does)."""
    ctx = torch.autocast("cpu", dtype=amp) if amp is not None else contextlib.nullcontext()
    with ctx:
        return model(*inputs)


def _loss(out):
    leaves = [t for t in torch.utils._pytree.tree_leaves(out)
              if isinstance(t, torch.Tensor) and t.requires_grad]
    loss = leaves[0].sum()
    for t in leaves[1:]:
        loss = loss + t.sum()
    return loss


def real_saved(model, inputs, amp=None):
    """(total bytes, [(row name, bytes)] in call order) of a real forward."""
    model = copy.deepcopy(model).train()
    excluded = {t.untyped_storage()._cdata for t in list(model.parameters()) + list(model.buffers())}
    names = {id(m): n for n, m in model.named_modules()}
    rows, stack, keep, seen = [], [], [], {}
    handles = []
    for m in model.modules():
        def pre(mod, args):
            rows.append([names[id(mod)], 0])
            stack.append(rows[-1])

        def post(mod, args, out):
            stack.pop()  # a forward hook's return value replaces the output: return None

        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post, always_call=True))

    def pack(t):
        s = t.untyped_storage()
        if s._cdata not in excluded and s._cdata not in seen:
            seen[s._cdata] = s.nbytes()
            keep.append(t)
            stack[-1][1] += s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = _forward(model, inputs, amp)
    for h in handles:  # a checkpoint's recompute in the backward makes no rows
        h.remove()
    _loss(out).backward()  # the graph is sound (the saved tensors can be used)
    return sum(seen.values()), [(n, b) for n, b in rows]


def make_optimizer(kind, params):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.01, foreach=False)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=False)
    if kind == "adam":
        return torch.optim.Adam(params, lr=1e-3, foreach=False)
    return torch.optim.AdamW(params, lr=1e-3, foreach=False)


def memtracker_peak(model, inputs, optimizer="adamw", amp=None):
    model = copy.deepcopy(model).train()
    opt = make_optimizer(optimizer, list(model.parameters()))
    _loss(_forward(model, inputs, amp)).backward()  # warm-up: the optimizer's state exists
    opt.step()
    opt.zero_grad(set_to_none=True)
    mt = MemTracker()
    mt.track_external(model, opt, *inputs)
    with mt:
        _loss(_forward(model, inputs, amp)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return mt.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"]


def real_flops(model, inputs, amp=None):
    """FlopCounterMode on a real step: (forward+backward total, forward total,
    {module name: forward+backward}, {module name: forward}), module names as it keys them
    ("Root.a.b", inclusive of submodules)."""
    model = copy.deepcopy(model).train()
    with FlopCounterMode(display=False) as fc:
        out = _forward(model, inputs, amp)
    forward, per_forward = fc.get_total_flops(), {k: sum(v.values()) for k, v in fc.get_flop_counts().items()}
    with FlopCounterMode(display=False) as fc:
        _loss(_forward(model, inputs, amp)).backward()
    per = {k: sum(v.values()) for k, v in fc.get_flop_counts().items()}
    del out
    return fc.get_total_flops(), forward, per, per_forward
