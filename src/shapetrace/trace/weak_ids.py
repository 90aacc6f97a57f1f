"""A map keyed by tensors, holding them weakly: the one pattern behind the flow's registry
(``flow.FlowTensors``) and the meta twins (``placement.meta_twin``).

Keyed by ``id``, not by the tensor (a tensor's ``__eq__`` and ``__hash__`` are not
identity-safe to use here, and a ``WeakKeyDictionary`` of tensors costs a hash and an
equality call per lookup). An entry leaves when its tensor is freed, so a reused ``id``
never inherits another tensor's value; a lookup also checks the tensor is the same object.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch


class WeakIds:
    """``t -> value`` for live tensors ``t``, by identity."""

    __slots__ = ("_store",)

    def __init__(self) -> None:
        self._store: dict[int, tuple[weakref.ref, Any]] = {}

    def get(self, t: torch.Tensor) -> Any:
        """``t``'s value, or None when ``t`` has none."""
        e = self._store.get(id(t))
        return e[1] if e is not None and e[0]() is t else None

    def __contains__(self, t: torch.Tensor) -> bool:
        e = self._store.get(id(t))
        return e is not None and e[0]() is t

    def set(self, t: torch.Tensor, value: Any) -> None:
        key = id(t)
        store = self._store

        def drop(ref: weakref.ref, key: int = key) -> None:
            e = store.get(key)
            if e is not None and e[0] is ref:
                del store[key]

        store[key] = (weakref.ref(t, drop), value)

    def __len__(self) -> int:
        return len(self._store)
