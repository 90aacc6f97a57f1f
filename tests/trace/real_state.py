"""What "the user's model and torch's global state are exactly as before" means, as values
a test can compare: ``model_state`` and ``global_state`` before and after a trace."""

from __future__ import annotations

import random
from typing import Any

import torch
from torch import nn

from .test_zoo import _flat


def model_state(model: nn.Module) -> dict[str, Any]:
    """Every parameter and buffer (its object, storage, device, dtype, flags, Python
    attributes and values),
    every module's training flag and attribute names, and the hooks installed."""
    tensors = {}
    for kind, items in (("param", model.named_parameters(remove_duplicate=False)),
                        ("buffer", model.named_buffers(remove_duplicate=False))):
        for name, t in items:
            tensors[(kind, name)] = (id(t), t.data_ptr(), t.device, t.dtype, t.requires_grad, t.grad is None,
                                     t._version, sorted(vars(t).items()), t.detach().clone())
    modules = {}
    for name, m in model.named_modules(remove_duplicate=False):
        modules[name] = (id(m), m.training, sorted(m.__dict__), len(m._forward_hooks),
                         len(m._forward_pre_hooks), len(m._backward_hooks))
    return {"tensors": tensors, "modules": modules}


def global_state() -> dict[str, Any]:
    return {
        "rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
        "default_dtype": torch.get_default_dtype(),
        "default_device": torch.get_default_device(),
        "threads": torch.get_num_threads(),
        "grad": torch.is_grad_enabled(),
        "inference": torch.is_inference_mode_enabled(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "anomaly": torch.is_anomaly_enabled(),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
                and bool(torch.equal(a, b) or (a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
                                                 and torch.equal(a.nan_to_num(), b.nan_to_num()))))
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def differences(before: dict[str, Any], after: dict[str, Any], limit: int = 5) -> list[str]:
    """The entries that differ, named (empty when nothing changed)."""
    out = []
    for group in before:
        if isinstance(before[group], dict) and group in ("tensors", "modules"):
            keys = before[group].keys() | after[group].keys()
            out += [f"{group} {k}" for k in sorted(keys, key=str)
                    if not _same(before[group].get(k), after[group].get(k))]
        elif not _same(before[group], after[group]):
            out.append(f"global {group}: {before[group]!r:.60} -> {after[group]!r:.60}")
    return out[:limit]


def output_shapes(out: Any) -> list[tuple[int, ...]]:
    """Output shapes of a module call as the tracer records them: every tensor in the
    output, transformers' ModelOutput (a dict) included."""
    return [tuple(t.shape) for t in _flat(out)]
