"""shapetrace: exact layer shapes for PyTorch.

Importing this package never imports torch: ``output_shape``, ``explain`` and the
spec tools (``flow``, ``load_spec``) are pure Python. ``summary`` (the tracer) is
loaded, with torch, the first time it is looked up (``shapetrace.summary``).

This file is the composition root: it re-exports the public names and plugs the
renderers into ``Report``'s notebook display (the core never imports the renderers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core import records as _records
from .core.api import compute, explain, output_shape
from .core.errors import ShapeError, ShapetraceError
from .core.records import Report

if TYPE_CHECKING:  # for IDEs and type checkers: the real functions and their signatures
    from .core.spec import flow, load_spec
    from .memory.api import train_memory
    from .trace.failures import ModelError
    from .trace.tracer import summary

__version__ = "0.1.0"

__all__ = ["ModelError", "Report", "ShapeError", "ShapetraceError", "compute", "explain", "flow", "load_spec",
           "output_shape", "summary", "train_memory", "__version__"]


def __getattr__(name: str) -> Any:
    # PEP 562: ``shapetrace.summary`` is the tracer's own function (help() and IDEs show its
    # signature), imported on first use so that ``import shapetrace`` stays torch-free; the
    # spec tools likewise, so that a plain import stays as fast as before.
    if name == "summary":
        from .trace.tracer import summary as value
    elif name == "train_memory":  # torch on first use, as summary
        from .memory.api import train_memory as value
    elif name == "ModelError":  # what summary raises for a model it cannot trace (torch's module)
        from .trace.failures import ModelError as value
    elif name == "accepted_sizes":  # torch only for model targets
        from .sizes import accepted_sizes as value
    elif name in ("flow", "load_spec"):
        from .core import spec

        value = getattr(spec, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _repr_html(report: Report) -> str:
    from .render import repr_html

    return repr_html(report)


_records.set_html_display(_repr_html)
