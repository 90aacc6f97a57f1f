"""The registry of the flow's tensors: which tensors are the model's activations, and the
receptive field each carries.

A tensor joins when it is a model input or the output of a row (or of a passthrough
such as ``.contiguous()``); anything else the forward touches (parameters, ``torch.zeros``,
a lazy layer's initialisation) is not part of the flow, and ops on such tensors alone give
no row (``classify``). Entries are weak (``weak_ids``): a freed tensor leaves, so a reused
``id`` never inherits another tensor's place.
"""

from __future__ import annotations

import torch

from ..core.records import ReceptiveField
from .weak_ids import WeakIds


class FlowTensors(WeakIds):
    """Each entry: the tensor (weakly), its receptive field, and its source: the endpoint
    that produced it (a leaf row's index, or "input:K"), from which ``Report.edges`` are
    drawn; None where unknown (a container's output made by an op that is no row).
    ``get(t)`` is ``(rf, src)``, or None when ``t`` is not in the flow: one lookup for both."""

    __slots__ = ()

    def rf(self, t: torch.Tensor) -> ReceptiveField | None:
        """``t``'s receptive field; None where it has none or is not in the flow."""
        e = self.get(t)
        return e[0] if e is not None else None

    def src(self, t: torch.Tensor) -> int | str | None:
        """The endpoint that produced ``t`` (None: unknown or not in the flow)."""
        e = self.get(t)
        return e[1] if e is not None else None

    def add(self, t: torch.Tensor, rf: ReceptiveField | None, src: int | str | None = None) -> None:
        """``t`` is (now) in the flow, with receptive field ``rf`` (None: not defined),
        made by ``src``."""
        self.set(t, (rf, src))
