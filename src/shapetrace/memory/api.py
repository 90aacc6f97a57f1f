"""``shapetrace.train_memory``: the memory and FLOPs of one training step, and the batch that fits.

Arguments are checked here, where they enter (user strings become the enums of
``options``); the step itself is ``step.simulate``, the batch search ``batch.largest_batch``.
"""

from __future__ import annotations

from typing import Any, Sequence

from . import batch as batch_search
from .options import (Backend, DType, MemoryUsageError, as_backend, as_dtype, as_optimizer, check_batch_size,
                      parse_budget)
from .records import Bound, MemoryReport, StepMemory
from .step import StepConfig, simulate


def train_memory(model: Any, input_size: Any = None, *, optimizer: str = "adamw",
                 dtype: str | None = None, amp: bool = False, batch_size: int | None = None,
                 budget: int | str | None = None, device: str = "cpu",
                 dtypes: Sequence[Any] | None = None) -> MemoryReport:
    """Simulate one steady-state training step of ``model`` (forward, ``sum(outputs).backward()``,
    ``optimizer.step()``, ``zero_grad(set_to_none=True)``) on fake tensors: no memory is used
    and nothing is computed; the user's model is left as it was.

    ``input_size``: a shape ``(8, 3, 224, 224)`` or a list of shapes (one per positional input),
    batch first; ``dtypes`` as in ``summary`` (e.g. ``["int64"]`` for token ids; floating inputs
    take the training dtype). ``optimizer``: sgd, momentum, adam or adamw. ``dtype``: float32,
    bfloat16 or float16, the dtype of the weights and activations (default: the model's
    first floating parameter's, float32 if that is another dtype), as ``model.to(dtype)``; with
    ``amp=True`` the weights stay float32 and the forward runs under ``torch.autocast`` in
    ``dtype`` (default: autocast's own, bfloat16 on CPU, float16 on CUDA). ``batch_size``
    replaces dim 0 of every input (default: the input's). ``budget`` (bytes, or a string such as
    ``"16GiB"``) adds ``max_batch_size``: the largest batch whose peak fits. ``device``: cpu or
    cuda, the backend whose kernels decide what is saved.

    Returns a ``MemoryReport`` (bytes and FLOP counts; see ``records``).
    """
    from torch import nn

    from ..trace.inputs import Inputs

    if not isinstance(model, nn.Module):
        raise MemoryUsageError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    opt = as_optimizer(optimizer)
    backend = as_backend(device)
    if not isinstance(amp, bool):
        raise MemoryUsageError(f"amp must be True or False, got {amp!r}")
    if dtype is None:  # autocast's own default per device (torch.autocast docs); else the model's
        dtype = ("float16" if backend is Backend.CUDA else "bfloat16") if amp else _model_dtype(model)
    dt = as_dtype(dtype)
    if amp and dt is DType.FLOAT32:
        raise MemoryUsageError("amp runs the forward in a lower precision: give dtype bfloat16 or "
                               "float16 (float32 is the weights' dtype under AMP already)")
    inputs = Inputs.parse(input_size, None, dtypes)
    shapes = [tuple(s) for s in inputs.shapes]
    if any(len(s) == 0 for s in shapes):
        raise MemoryUsageError("every input needs a batch dimension (dim 0); got a 0-d input shape")
    if batch_size is None:
        batch_size = shapes[0][0]
    check_batch_size(batch_size)
    if batch_size > batch_search.MAX_BATCH:
        raise MemoryUsageError(f"batch size {batch_size} is beyond {batch_search.MAX_BATCH}")
    limit = parse_budget(budget) if budget is not None else None

    cfg = StepConfig(shapes=shapes, input_dtypes=list(inputs.dtypes), optimizer=opt, dtype=dt,
                     amp=amp, backend=backend)
    step = simulate(model, cfg, batch_size)
    report = MemoryReport(step=step, optimizer=opt.value, dtype=dt.value, amp=amp,
                          device=backend.value, computed_on=cfg.computed_on(),
                          input_shapes=[(batch_size, *s[1:]) for s in shapes], budget=limit)
    report.notes.extend(_notes(cfg, step))
    if limit is not None:
        fixed = fixed_bytes(step)
        if limit < fixed:
            raise MemoryUsageError(
                f"budget {limit} bytes is smaller than the weights with their gradients and "
                f"optimizer state ({fixed} bytes: params {step.params}, buffers {step.buffers}, "
                f"grads {step.grads}, optimizer state {step.optimizer_state}); no batch can fit")
        found = batch_search.largest_batch(lambda b: simulate(model, cfg, b).phase_peaks, limit,
                                           known={batch_size: step.phase_peaks})
        report.max_batch_size = found.batch
        report.batch_search = found.how
        report.batch_evaluations = found.evaluations
    return report


def _model_dtype(model) -> str:
    for p in model.parameters():
        if p.is_floating_point():
            name = str(p.dtype).removeprefix("torch.")
            return name if name in {d.value for d in DType} else DType.FLOAT32.value
    return DType.FLOAT32.value


def fixed_bytes(step: StepMemory) -> int:
    """What a step holds at any batch size: the weights, their gradients, the optimizer state."""
    return step.params + step.buffers + step.grads + step.optimizer_state


def _notes(cfg: StepConfig, step: StepMemory) -> list[str]:
    """Note codes (the renderer words them): where the figures are bounds, not exact."""
    notes = []
    if cfg.backend is Backend.CUDA and cfg.computed_on() == "meta":
        notes.append("cuda_on_meta")
    if any(r.bound is Bound.LOWER for r in step.rows):
        notes.append("lower_bound")
    if any(r.bound is Bound.UPPER for r in step.rows):
        notes.append("upper_bound")
    return notes
