"""shapetrace: exact layer shapes for PyTorch.

Importing this package never imports torch: ``output_shape``, ``explain`` and the
spec tools are pure Python. ``summary`` (the tracer) imports torch when called.
"""

from __future__ import annotations

from typing import Any

from .core.api import compute, explain, output_shape
from .core.errors import ShapeError, ShapetraceError

__version__ = "0.1.0"

__all__ = ["ShapeError", "ShapetraceError", "compute", "explain", "output_shape", "summary",
           "__version__"]


def summary(*args: Any, **kwargs: Any):
    """Trace ``model`` layer by layer (see ``shapetrace.trace.tracer.summary``)."""
    from .trace.tracer import summary as _summary

    return _summary(*args, **kwargs)
