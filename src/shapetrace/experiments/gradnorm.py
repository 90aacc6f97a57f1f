"""The gradient norm of every weighted layer (Conv2d and Linear weights), input side first.

Two measurements: ``at_init`` runs one forward/backward on a fixed batch with a float64
copy of the model, so that norms below float32's range (about 1e-38, reached in deep
plain nets) show as numbers rather than as 0; ``current`` reads the float32 gradients a
training step has just computed (there a vanished gradient is exactly 0).
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..models.depth import weighted_layers


def at_init(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
            dtype: torch.dtype = torch.float64) -> list[float]:
    """||d loss / d W|| for each weighted layer of ``model`` (unchanged: a copy is used).

    The copy runs in training mode, as the first step of training would (BatchNorm uses
    the batch's statistics). The loss is the mean cross-entropy over the batch.
    """
    probe = copy.deepcopy(model).to(dtype=dtype)
    probe.train()
    weights = [m.weight for _, m in weighted_layers(probe)]
    loss = F.cross_entropy(probe(images.to(dtype)), labels)
    grads = torch.autograd.grad(loss, weights)
    return torch.stack([g.norm() for g in grads]).tolist()


def current(model: nn.Module) -> list[float]:
    """The norms of the weight gradients now held in ``.grad`` (0.0 where there is none)."""
    norms = []
    for _, m in weighted_layers(model):
        g = m.weight.grad
        norms.append(g.norm() if g is not None else torch.zeros((), device=m.weight.device))
    return torch.stack(norms).float().tolist()  # one device sync for all layers
