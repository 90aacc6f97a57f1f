"""The registry of the flow's tensors: which tensors are the model's activations, and the
receptive field each carries.

A tensor joins when it is a model input or the output of a row (or of a passthrough
such as ``.contiguous()``); anything else the forward touches (parameters, ``torch.zeros``,
a lazy layer's initialisation) is not part of the flow, and ops on such tensors alone give
no row (``classify``). Entries are weak: a freed tensor leaves, so a reused ``id`` never
inherits another tensor's place.
"""

from __future__ import annotations

import weakref

import torch

from ..core.records import ReceptiveField


class FlowTensors:
    """Each entry: the tensor (weakly), its receptive field, and its source: the endpoint
    that produced it (a leaf row's index, or "input:K"), from which ``Report.edges`` are
    drawn; None where unknown (a container's output made by an op that is no row)."""

    def __init__(self) -> None:
        self._store: dict[int, tuple[weakref.ref, ReceptiveField | None, int | str | None]] = {}

    def __contains__(self, t: torch.Tensor) -> bool:
        e = self._store.get(id(t))
        return e is not None and e[0]() is t

    def entry(self, t: torch.Tensor) -> tuple[ReceptiveField | None, int | str | None] | None:
        """``(rf, src)`` of ``t``, or None when it is not in the flow: one lookup for both."""
        e = self._store.get(id(t))
        return (e[1], e[2]) if e is not None and e[0]() is t else None

    def rf(self, t: torch.Tensor) -> ReceptiveField | None:
        """``t``'s receptive field; None where it has none or is not in the flow."""
        e = self._store.get(id(t))
        return e[1] if e is not None and e[0]() is t else None

    def src(self, t: torch.Tensor) -> int | str | None:
        """The endpoint that produced ``t`` (None: unknown or not in the flow)."""
        e = self._store.get(id(t))
        return e[2] if e is not None and e[0]() is t else None

    def add(self, t: torch.Tensor, rf: ReceptiveField | None, src: int | str | None = None) -> None:
        """``t`` is (now) in the flow, with receptive field ``rf`` (None: not defined),
        made by ``src``."""
        key = id(t)
        store = self._store

        def drop(ref: weakref.ref, key: int = key) -> None:
            e = store.get(key)
            if e is not None and e[0] is ref:
                del store[key]

        store[key] = (weakref.ref(t, drop), rf, src)
