"""``shapetrace.accepted_sizes``: which input sizes a model or spec takes (exactly, where
the core models every op; see core/symbolic). Spec files stay torch-free; model targets
(an nn.Module, ``file.py:Name``, ``package.module:factory``, ``seed``, ``seed-verbatim``)
import torch.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from .core.errors import ShapetraceError
from .core.symbolic import DEFAULT_MAX, AcceptedSizes


def accepted_sizes(target: Any, input_size: Sequence[int] | None = None, dims: Sequence[int] | None = None,
                   max_size: int = DEFAULT_MAX, *, kwargs: dict[str, Any] | None = None,
                   dtype: str | None = None) -> AcceptedSizes:
    """The accepted set: ``.boxes`` (disjoint, one [lo, hi] per varying axis),
    ``.contains(sizes)``, ``.to_dict()`` (the JSON of ``shapetrace sizes --format json``).

    ``target``: a spec (path, ``Spec`` or dict), an ``nn.Module``, or a target string as
    ``shapetrace summary`` takes it. ``input_size``: the example input (default: the
    target's, (1, 1, 28, 28) for the seed). ``dims``: the axes that vary (default: every
    axis after the channel axis, or the last axis of a 2-D input), each over 1..max_size.
    """
    from .core.spec import Spec

    if isinstance(target, (Spec, dict)):
        from .core.symbolic import analyze_spec

        return analyze_spec(target, input_size, dims, max_size)
    if isinstance(target, (str, os.PathLike)):
        from .trace.targets import TargetKind, parse_target

        tgt = parse_target(os.fspath(target))
        if tgt.kind is TargetKind.SPEC:
            from .core.spec import load_spec
            from .core.symbolic import analyze_spec

            return analyze_spec(load_spec(tgt.location), input_size, dims, max_size)
        from .trace.targets import load_model

        model = load_model(tgt, kwargs)
        if input_size is None:
            input_size = tgt.default_input
    else:
        model = target
    if input_size is None:
        raise ShapetraceError("give the model's example input shape (input_size=..., --input)")
    from .trace.symbolic_probe import analyze_model

    return analyze_model(model, input_size, dims, max_size, _dtype(dtype))


def _dtype(name: str | None):
    if name is None:
        return None
    import torch

    dt = getattr(torch, name, None)
    if not isinstance(dt, torch.dtype):
        raise ShapetraceError(f"--dtype: unknown dtype {name!r} (e.g. float32, int64)")
    return dt
