"""The forward and backward pass of one training step: the one definition that both loops that
train use (``train/loop.py``, a shard of each batch; ``experiments/depth.py``, one net's batch).
The evaluation pass is ``train/infer.evaluate``; the optimizer is ``train/optim.build_optimizer``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .infer import autocast


def forward_backward(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, label_smoothing: float = 0.0,
                     bf16: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy of ``model(x)`` against ``y``, back-propagated (the gradients accumulate
    into ``.grad``); returns the loss and the logits, detached. The loss is taken in float32 even
    under bfloat16 autocast."""
    with autocast(x.device, bf16):
        logits = model(x)  # (B, 10)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    loss.backward()
    return loss.detach(), logits.detach()
