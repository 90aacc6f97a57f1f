"""The core's answers during a trace, remembered for the process.

Each known layer's call is checked with the core's rule (``core.api.compute``) before it
runs. The answer is a pure function of the layer's name, its arguments and its input
shapes (``LayerResult`` is frozen), and repeated blocks ask the same question (ResNet-50's
bottlenecks, every decoder layer), as does every trace of a model after the first. Errors
are not remembered: they raise every time.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core.api import compute
from ..core.errors import ShapeError
from ..core.records import LayerResult, Row
from .adapters import layer_rule, n_inputs
from .call_args import typed_items

# (layer, kwargs, input shapes) -> the core's answer; emptied when it reaches MAX_ENTRIES.
_ANSWERS: dict[tuple, LayerResult] = {}
MAX_ENTRIES = 4096


def answer(name: str, shape: Any, kw: dict[str, Any]) -> LayerResult:
    """``compute(name, shape, **kw)``, from the table when it was asked before."""
    try:
        key: tuple | None = (name, typed_items(kw), tuple(shape))
        hash(key)
    except TypeError:  # an unhashable argument value: ask the core every time
        key = None
    result = _ANSWERS.get(key) if key is not None else None
    if result is None:
        result = compute(name, shape, **kw)
        if key is not None:
            if len(_ANSWERS) >= MAX_ENTRIES:
                _ANSWERS.clear()
            _ANSWERS[key] = result
    return result


def rule_on(module: nn.Module, ins: list[torch.Tensor], row: Row) -> LayerResult | None:
    """A known layer whose call the core did not check (called with arguments its rule does
    not model, or with the checks off): its rule's answer on the tensor inputs it got, for
    the row's MACs and receptive field (a note on ``row`` when its weights were replaced);
    None when there is no rule or it cannot answer."""
    try:
        rule = layer_rule(module)
    except ShapeError:  # tensors torch refuses: its own error follows
        return None
    if rule is None:
        return None
    name, kw, replaced = rule
    n = n_inputs(name)
    if len(ins) < n:
        return None
    try:
        result = answer(name, tuple(ins[0].shape) if n == 1 else [tuple(t.shape) for t in ins[:n]], kw)
    except ShapeError:  # ArgumentError and UnknownLayerError too
        return None
    if replaced is not None:
        row.notes.append(replaced)
    return result
