"""The numbers of a training step's memory and FLOPs (bytes and counts only; the text is
made by ``shapetrace.render.memory``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Bound(str, Enum):
    """How far a row's saved bytes can be trusted for the chosen backend."""

    EXACT = "exact"  # what the backend's kernels save, storage by storage
    LOWER = "lower"  # the backend saves more than this (a workspace that was not sized)
    UPPER = "upper"  # computed by the math path; a fused kernel on that backend saves less


@dataclass
class MemoryRow:
    """One module call (qualified name as in ``named_modules()``, in call order)."""

    name: str
    kind: str
    depth: int
    saved: int = 0  # bytes of the distinct storages first saved for the backward in this call
    flops_forward: int = 0
    flops_backward: int = 0
    bound: Bound = Bound.EXACT
    note: str = ""  # a note code (the renderer words it): why the figure is a bound

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bound"] = self.bound.value
        return d


@dataclass
class StepMemory:
    """One simulated training step at one batch size."""

    batch_size: int
    params: int  # bytes of the parameters
    buffers: int  # bytes of the buffers (BatchNorm statistics, ...)
    grads: int  # bytes of the gradients (one per trainable parameter)
    optimizer_state: int  # bytes the optimizer keeps between steps
    saved_activations: int  # distinct storages autograd saves, params and buffers left out
    peak: int  # the most bytes alive at once during forward, backward and optimizer step
    peak_phase: str  # "forward", "backward" or "optimizer"
    phase_peaks: dict[str, int]
    flops_forward: int
    flops_backward: int
    rows: list[MemoryRow] = field(default_factory=list)


@dataclass
class MemoryReport:
    """What ``shapetrace.train_memory`` returns."""

    step: StepMemory
    optimizer: str
    dtype: str
    amp: bool
    device: str
    computed_on: str  # the device the fake tensors claimed: "cpu", "cuda" or "meta"
    input_shapes: list[tuple[int, ...]]
    budget: int | None = None
    max_batch_size: int | None = None
    batch_search: str = ""  # how max_batch_size was found ("affine, checked" or "bisection")
    batch_evaluations: int = 0
    notes: list[str] = field(default_factory=list)

    # the step's numbers at the top level, as the JSON has them
    def __getattr__(self, name: str):
        if name in ("params", "buffers", "grads", "optimizer_state", "saved_activations", "peak",
                    "peak_phase", "rows", "flops_forward", "flops_backward", "batch_size"):
            return getattr(self.__dict__["step"], name)
        raise AttributeError(name)

    @property
    def flops(self) -> int:
        return self.step.flops_forward + self.step.flops_backward

    def to_dict(self) -> dict:
        s = self.step
        d = {
            "device": self.device, "computed_on": self.computed_on, "optimizer": self.optimizer,
            "dtype": self.dtype, "amp": self.amp, "batch_size": s.batch_size,
            "input_shapes": [list(x) for x in self.input_shapes],
            "params": s.params, "buffers": s.buffers, "grads": s.grads,
            "optimizer_state": s.optimizer_state, "saved_activations": s.saved_activations,
            "peak": s.peak, "peak_phase": s.peak_phase, "phase_peaks": dict(s.phase_peaks),
            "flops": {"forward": s.flops_forward, "backward": s.flops_backward,
                      "total": s.flops_forward + s.flops_backward},
            "rows": [r.to_dict() for r in s.rows],
            "notes": list(self.notes),
        }
        if self.budget is not None:
            d["budget"] = self.budget
            d["max_batch_size"] = self.max_batch_size
            d["batch_search"] = self.batch_search
            d["batch_evaluations"] = self.batch_evaluations
        return d
