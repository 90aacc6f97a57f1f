"""The tracer (torch): ``summary(model, ...)`` -> ``Report``. Stages: inputs -> placement ->
recorder (classify, flow, params) -> failures -> fold; ``tracer.py`` runs them.

Public names are loaded on first use, so ``import shapetrace.trace.ops`` does not pull in
the whole tracer."""

from __future__ import annotations

from typing import Any

__all__ = ["summary", "ModelError", "pick_device", "AUTO_MAX_PARAMS", "AUTO_MAX_INPUT"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import tracer

        return getattr(tracer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
