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


def row_formulas(target: Any, report, input_size: Sequence[int] | None = None, *,
                 kwargs: dict[str, Any] | None = None) -> list[str | None]:
    """Per row of ``report`` (the summary of ``target`` at ``input_size``), its output shape
    as a formula of the varying input sizes (``summary --symbolic``), or None where the
    engine has none (an op it cannot model, and every row after it)."""
    from .core.spec import Spec
    from .core.symbolic import spec_rows
    from .core.symbolic.rows import row_formulas as match

    if isinstance(target, (Spec, dict)):
        return match(report, *spec_rows(target, input_size))
    model = target
    if isinstance(target, (str, os.PathLike)):
        from .trace.targets import TargetKind, parse_target

        tgt = parse_target(os.fspath(target))
        if tgt.kind is TargetKind.SPEC:
            from .core.spec import load_spec

            return match(report, *spec_rows(load_spec(tgt.location), input_size))
        from .trace.targets import load_model

        model = load_model(tgt, kwargs)
        input_size = input_size if input_size is not None else tgt.default_input
    if input_size is None:
        raise ShapetraceError("give the model's example input shape (input_size=..., --input)")
    from .trace.symbolic_probe import model_rows
    from .trace.usercode import user_code

    with user_code():  # fx runs the forward's Python (the user's code)
        rows = model_rows(model, input_size)
    return match(report, *rows)


def _dtype(name: str | None):
    if name is None:
        return None
    import torch

    dt = getattr(torch, name, None)
    if not isinstance(dt, torch.dtype):
        raise ShapetraceError(f"--dtype: unknown dtype {name!r} (e.g. float32, int64)")
    return dt
