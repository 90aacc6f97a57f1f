"""Evaluation and prediction with the seed model: used by the training loop (each epoch) and
by ``shapetrace eval`` / ``shapetrace predict``."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..data.mnist import NUM_CLASSES
from .batches import normalize


def autocast(device: torch.device, bf16: bool):
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 1000,
             bf16: bool = False, channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of cross-entropy losses, 10x10 confusion counts) over ``images`` (uint8 (N, 28, 28)).

    Both are tensors on the device, so that ranks can sum them before anything is read."""
    was_training = model.training
    model.eval()
    device = images.device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    confusion = torch.zeros(NUM_CLASSES * NUM_CLASSES, dtype=torch.int64, device=device)
    try:
        for start in range(0, int(labels.shape[0]), batch_size):
            x = normalize(images[start:start + batch_size], channels_last)
            y = labels[start:start + batch_size]
            with autocast(device, bf16):
                logits = model(x)
            logits = logits.float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").double()
            confusion += torch.bincount(y * NUM_CLASSES + logits.argmax(1), minlength=NUM_CLASSES ** 2)
    finally:
        model.train(was_training)
    return loss_sum, confusion.view(NUM_CLASSES, NUM_CLASSES)


def summarize(loss_sum: float, confusion: np.ndarray) -> dict[str, Any]:
    """Accuracy, mean loss, per-class accuracy (recall) and the confusion matrix as plain data."""
    m = np.asarray(confusion, dtype=np.int64)
    total = int(m.sum())
    per_class_total = m.sum(axis=1)
    return {
        "count": total,
        "correct": int(np.trace(m)),
        "accuracy": float(np.trace(m)) / total if total else 0.0,
        "loss": float(loss_sum) / total if total else 0.0,
        "per_class_accuracy": [float(m[i, i]) / int(per_class_total[i]) if per_class_total[i] else None
                               for i in range(m.shape[0])],
        "per_class_count": [int(c) for c in per_class_total],
        "confusion": m.tolist(),
    }


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu"):
    """The seed model with the weights at ``path`` (run folder, .safetensors or checkpoint), in eval mode."""
    from ..models.seed import CNNWithResidual
    from .checkpoint import load_weights

    state, batchnorm, file = load_weights(path)
    model = CNNWithResidual(batchnorm=batchnorm)
    model.load_state_dict(state)
    model.to(device).eval()
    return model, file


@torch.no_grad()
def predict_proba(model: torch.nn.Module, images_u8: np.ndarray) -> np.ndarray:
    """Class probabilities (N, 10) for uint8 images (N, 28, 28) prepared as MNIST digits."""
    device = next(model.parameters()).device
    x = normalize(torch.from_numpy(np.ascontiguousarray(images_u8)).to(device))
    return torch.softmax(model(x).float(), dim=1).cpu().numpy()
