"""Trace any nn.Module: one ``Row`` per module call and per functional op, in execution order.

``summary`` runs the stages, each in its own module with one job:

1. ``inputs``: the input as asked (shapes or tensors) -> ``Inputs``, checked once;
2. ``placement``: the device (``pick_device``) and the module to run on (``prepared``:
   the model itself, with meta tensors swapped in and put back, or a copy);
3. ``recorder``: hooks and a ``TorchFunctionMode`` see every call; ``classify`` decides
   which becomes a row (module row / op row / passthrough / ignored), ``flow`` is the
   registry of the flow's tensors and their receptive fields, ``params`` counts weights;
4. ``failures``: a failing call, noted once, becomes the diagnosis or a ``ModelError``;
5. ``fold``: rows deeper than ``depth`` fold into their ancestor.

By default the forward runs on the meta device: shapes only, no compute, no weight
memory. On every device and in both modes the user's model (``placement``) and torch's
global state (``state.kept``: RNG, default dtype/device, grad mode, threads, flags) are
exactly as before afterwards, also when the forward raises. On meta the input keeps its
values (``values``): code that reads them (an attention mask's ``.all()``) works, the
weights stay on meta, and the report says so.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..core.errors import ArgumentError
from ..core.records import Report
from ..devices import Device
from .failures import MetaLacksValues, ModelError
from .fold import fold
from .inputs import Inputs, default_dtype
from . import values, wrapped
from .placement import (AUTO_MAX_INPUT, AUTO_MAX_PARAMS, META, input_device, is_auto, no_gc, pick_device, prepared,
                        ran_on_cpu, threads, weights_changed)
from .recorder import Recorder
from .state import kept, one_at_a_time

__all__ = ["summary", "ModelError", "Device", "pick_device", "AUTO_MAX_PARAMS", "AUTO_MAX_INPUT"]


def summary(model: nn.Module, input_size: Any = None, input_data: Any = None, *,
            depth: int | None = None, dtypes: Sequence[Any] | None = None,
            device: str | torch.device | None = None, core_checks: bool = True,
            mode: str = "eval") -> Report:
    """Trace ``model`` on an input and return its flow as a ``Report``.

    ``input_size``: a shape ``(1, 3, 224, 224)`` or a list of shapes (one per positional
    input); float zeros (``dtypes`` per input, e.g. ``[torch.long]`` for token ids).
    ``input_data``: a tensor, a list/tuple of tensors (positional arguments) or a dict
    (keyword arguments), as torchinfo takes it.
    ``depth``: rows deeper than this are folded into their ancestor (params and MACs add up).
    ``device``: "meta" (no compute, no weight memory), "cpu"/"cuda" (runs for real), or
    "auto" (cpu for small models on the CPU, else meta; see ``pick_device``). The default,
    None, is meta, and the CPU for a forward that needs what meta does not hold (a value
    computed from the weights, an op with no meta kernel) when "auto" would run the model
    on the CPU: the report says so. An explicit "meta" raises ``ModelError`` there instead.
    ``mode``: "eval" (default) or "train": the mode the forward runs in; the model's own
    mode is restored afterwards.

    A shape error does not raise: the rows up to the failing one are kept and
    ``Report.error`` holds the diagnosis. Bad arguments raise ``ArgumentError``; a
    forward that fails for another reason raises ``ModelError``.
    """
    if not isinstance(model, nn.Module):
        raise ArgumentError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ArgumentError(f"depth must be a non-negative integer, got {depth!r}")
    if mode not in ("eval", "train"):
        raise ArgumentError(f"mode must be 'eval' or 'train', got {mode!r}")
    inputs = Inputs.parse(input_size, input_data, dtypes)
    with one_at_a_time:  # from the first look at the model: another trace may have swapped its tensors
        return _summary(model, inputs, depth, device, core_checks, mode)


def _summary(model: nn.Module, inputs: Inputs, depth: int | None, device: str | torch.device | None,
             core_checks: bool, mode: str) -> Report:
    model, said = wrapped.unwrap(model)  # torch.compile: its _orig_mod; TorchScript: an error
    dev = pick_device(META if device is None else device, model, inputs.numel)
    try:
        report = _trace(model, inputs, dev, is_auto(device), core_checks, mode)
    except MetaLacksValues as e:
        if device is not None or pick_device("auto", model, inputs.numel).type == META:
            raise
        report = _trace(model, inputs, torch.device("cpu"), True, core_checks, mode)
        report.warnings.insert(0, ran_on_cpu(e, model))
    report.warnings += said
    if depth is not None:
        report = fold(report, depth)
    return report


def _trace(model: nn.Module, inputs: Inputs, dev: torch.device, auto: bool, core_checks: bool,
           mode: str) -> Report:
    meta = dev.type == META
    keep = meta and values.keeps(inputs)  # the input's values, for code that reads them
    calls = values.MetaCalls(keep) if meta else None
    # one thread: a small model's forward (or a meta trace's few value calls) only contends
    changed: list[str] = []
    with kept(), no_gc(), prepared(model, dev, mode == "train", changed) as target, \
            threads(1 if auto or meta else None):
        args, kwargs = inputs.build(values.CPU if keep else input_device(target, dev), default_dtype(model))
        recorder = Recorder(target, dev, core_checks, type(model).__name__, **({"call": calls} if meta else {}))
        report = recorder.run(args, kwargs)
    if changed:
        report.warnings.append(weights_changed(changed, dev))
    if calls is not None and calls.reads:
        report.warnings.append(values.used_values(calls, inputs.data is None))
    return report
