"""Real torch on the CPU as the oracle for a trace's module rows."""

from __future__ import annotations

import torch
from torch import nn


def module_outputs(model: nn.Module, *xs) -> list[tuple[int, ...]] | None:
    """Each module call's output shape in a real CPU forward (innermost first, as hooks
    fire), or None where torch refuses the input."""
    seen: list[tuple[int, ...]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape))) for m in model.modules()]
    try:
        with torch.no_grad():
            model(*xs)
    except (RuntimeError, IndexError):
        return None
    finally:
        for h in hooks:
            h.remove()
    return seen
