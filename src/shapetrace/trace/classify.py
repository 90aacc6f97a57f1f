"""What becomes a row: the one decision, for every call the tracer sees.

* a module call (any ``nn.Module``, a module called twice gives two rows): a module row;
* a torch function the model's own code called (``x + s``, ``torch.cat``, ``F.relu``):
  an op row, when one of its tensor inputs is in the flow (``FlowTensors``) and it
  returns a tensor;
* metadata and conversions (``.contiguous()``, ``.float()``): passthrough, no row, the
  output joins the flow with its input's receptive field;
* everything else is ignored: calls that return no tensor worth a row (``x.size()``,
  ``x.shape``; ``recorded`` says so before the call runs, and their failures are not
  noted either), calls inside a torch.nn layer (the ``F.conv2d`` in ``nn.Conv2d`` is
  its row's implementation), calls outside any module, and calls whose inputs are not
  in the flow (``torch.zeros``, work on parameters alone such as a lazy layer's init).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol

import torch
from torch import nn

from . import ops


class Role(str, Enum):
    MODULE_ROW = "module row"
    OP_ROW = "op row"
    PASSTHROUGH = "passthrough"
    IGNORED = "ignored"


class _Frame(Protocol):
    @property
    def internal(self) -> bool: ...  # the frame is a torch.nn layer's call


# recorded()'s answers: it runs on every torch call of a forward, for a few hundred
# distinct functions. Capped: a property read's ``__get__`` is a new bound object each time.
_RECORDED: dict[Any, bool] = {}


def recorded(func: Any) -> bool:
    """Before the call runs: can it be part of the flow at all? (Cheap; on every call.)"""
    known = _RECORDED.get(func)
    if known is None:
        known = not ops.is_skipped(func)
        if len(_RECORDED) < 4096:
            _RECORDED[func] = known
    return known


def classify(call: Any, frame: _Frame | None, in_flow: list[torch.Tensor] = (),  # type: ignore[assignment]
             outs: list[torch.Tensor] = ()) -> Role:  # type: ignore[assignment]
    """The role of ``call`` (a module, or a torch function after it ran, with ``in_flow``
    its tensor inputs that are in the flow (``FlowTensors``: the recorder looks each up
    once) and ``outs`` its tensor outputs) made inside ``frame`` (the innermost module
    call)."""
    if isinstance(call, nn.Module):
        return Role.MODULE_ROW
    if frame is None or frame.internal or not recorded(call):
        return Role.IGNORED
    if not in_flow or not outs:
        return Role.IGNORED
    if call in ops.PASSTHROUGH:
        return Role.PASSTHROUGH
    return Role.OP_ROW
