"""The one optimizer factory of the commands that train (``train``, ``experiment depth``), for
the one ``Optimizer`` choice (``train.config``)."""

from __future__ import annotations

from typing import Any, Iterable

import torch

from .config import Optimizer


def build_optimizer(kind: Optimizer, params: Iterable[Any], *, lr: float, momentum: float = 0.9,
                    nesterov: bool = False, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """``kind`` over ``params`` (tensors or param groups; a group's own weight_decay wins).

    ``momentum`` is SGD's momentum and Adam's beta1 (https://pytorch.org/docs/stable/optim.html)."""
    kind = Optimizer(kind)
    if kind is Optimizer.sgd:
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0,
                               weight_decay=weight_decay)
    cls = torch.optim.AdamW if kind is Optimizer.adamw else torch.optim.Adam
    return cls(params, lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay)
