"""One training step simulated on fake tensors: what is alive when, and its peak.

The step runs for real, in torch, but on ``FakeTensorMode`` tensors (shapes, dtypes, devices
and storages; no memory, no arithmetic): the user's model with fake parameters swapped in
(``torch.nn.utils.stateless``, as ``torch.func.functional_call`` does), ``sum(outputs).backward()``, then torch.optim's ``step()`` and
``zero_grad(set_to_none=True)``, in the steady state (the optimizer's state already exists).
A dispatch mode sees every storage each op allocates and a weak reference sees it freed,
so the peak is that of the step's real allocation order, with what Python frees when
(saved tensors as their nodes run, the graph after the backward); it is what
``torch.distributed._tools.mem_tracker.MemTracker`` measures, without running the step.
Allocator effects (block rounding, fragmentation, CUDA context) are not in it.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from dataclasses import dataclass, field

from ..core.errors import ShapetraceError
from . import backends, flops, optimizers
from .options import Backend, DType, MemoryUsageError, Optimizer
from .records import Bound, MemoryRow, StepMemory
from .saved import SavedCounter

PHASES = ("forward", "backward", "optimizer")


@dataclass
class StepConfig:
    shapes: list[tuple[int, ...]]  # the inputs' shapes, batch first
    input_dtypes: list  # per input: a torch.dtype, or None for the training dtype
    optimizer: Optimizer
    dtype: DType
    amp: bool
    backend: Backend

    def computed_on(self) -> str:
        if self.backend is Backend.CPU or backends.cuda_fake_ok():
            return self.backend.value
        return "meta"


@dataclass
class _State:
    phase: str = "setup"
    stack: list = field(default_factory=list)
    rows: list = field(default_factory=list)

    def current_row(self):
        for r in reversed(self.stack):
            if r is not None:
                return r
        return self.rows[0] if self.rows else None


def _recorder_class():
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from ..trace.inputs import tensors

    aten = torch.ops.aten
    queries = {aten.sym_size.default, aten.sym_stride.default, aten.sym_numel.default,
               aten.sym_storage_offset.default, aten.is_contiguous.default,
               aten.is_contiguous.memory_format, aten.is_strides_like_format.default,
               aten.is_non_overlapping_and_dense.default, aten.size.default, aten.stride.default,
               aten.storage_offset.default, aten.numel.default, aten.dim.default,
               torch.ops.prim.layout.default}
    device_op = torch.ops.prim.device.default

    class Recorder(TorchDispatchMode):
        """Live storages (bytes), the peak of each phase, FLOPs per row and phase."""

        def __init__(self, state: _State, nodes: flops.NodeRows, fix_rnn: bool, block: int) -> None:
            super().__init__()
            self.block = block  # each storage takes a multiple of this many bytes (the allocator's)
            self.state = state
            self.nodes = nodes
            self.fix_rnn = fix_rnn
            self.live: dict[int, int] = {}
            self.current = 0
            self.peaks = dict.fromkeys(PHASES, 0)
            self.flops = dict.fromkeys(PHASES, 0)

        def track(self, t) -> None:
            s = t.untyped_storage()
            key = s._cdata
            if key in self.live:
                return
            n = -(-int(s.nbytes()) // self.block) * self.block
            self.live[key] = n
            self.current += n
            weakref.finalize(s, self._free, key)

        def _free(self, key: int) -> None:
            n = self.live.pop(key, None)
            if n is not None:
                self.current -= n

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in queries or func is device_op:
                return func(*args, **kwargs)
            # as FlopCounterMode: an op without a formula is decomposed when it can be
            if func._overloadpacket not in flops.registry():
                with self:
                    r = func.decompose(*args, **kwargs)
                if r is not NotImplemented:
                    return r
            out = func(*args, **kwargs)
            if self.fix_rnn and backends.is_rnn_workspace_op(func):
                out = self._rnn_workspace(args, out)
            for t in tensors(out):
                self.track(t)
            phase = self.state.phase
            if phase in self.peaks and self.current > self.peaks[phase]:
                self.peaks[phase] = self.current
            n = flops.count(func, args, kwargs, out)
            if n and phase in self.flops:
                self.flops[phase] += n
                row = self._row_now()
                if row is not None:
                    if phase == "forward":
                        row.flops_forward += n
                    else:
                        row.flops_backward += n
            return out

        def _row_now(self):
            if self.state.phase == "forward":
                return self.state.current_row()
            recompute = [r for r in self.state.stack if r is not None]
            if recompute:  # a checkpointed module runs again in the backward
                return recompute[-1]
            node = torch._C._current_autograd_node()
            row = self.nodes.row_of(node._sequence_nr()) if node is not None else None
            return row if row is not None else (self.state.rows[0] if self.state.rows else None)

        def _rnn_workspace(self, args, out):
            size = backends.rnn_workspace_bytes(args)
            row = self.state.current_row()
            if size is None:
                if row is not None:
                    row.bound = Bound.LOWER
                    row.note = "rnn_workspace_unsized"
                return out
            ws = torch.empty(size, dtype=torch.uint8, device=out[3].device)
            return (*out[:3], ws)

    return Recorder


def _marks_class():
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    from ..trace import meta_shapes
    from ..trace.inputs import tensors

    class Marks(TorchFunctionMode):
        """In the forward: each op's output node -> the row running (for the backward's FLOPs);
        attention calls computed by the math path on meta are marked."""

        def __init__(self, state: _State, nodes: flops.NodeRows, meta: bool) -> None:
            super().__init__()
            self.state, self.nodes, self.meta = state, nodes, meta

        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func in meta_shapes.CHECKS:  # the CPU's shape checks fake (meta) kernels skip
                meta_shapes.check(func, args, kwargs or {})
            out = func(*args, **(kwargs or {}))
            if func in meta_shapes.AFTER:
                meta_shapes.after(func, args, kwargs or {}, out)
            row = self.state.current_row()
            # a mode does not see the calls inside the function it handles: MultiheadAttention's
            # sdpa (need_weights=False) is seen as multi_head_attention_forward
            sdpa = func is F.scaled_dot_product_attention or (
                func is F.multi_head_attention_forward and not (kwargs or {}).get("need_weights", True))
            if self.meta and sdpa and row is not None:
                row.bound = Bound.UPPER
                row.note = "attention_math_path"
            for t in tensors(out):
                if t.grad_fn is not None:
                    self.nodes.mark(t.grad_fn._sequence_nr(), row)
            return out

    return Marks


def _storage_bytes(tensors) -> int:
    seen: dict[int, int] = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[s._cdata] = int(s.nbytes())
    return sum(seen.values())


@contextlib.contextmanager
def _model_as_is(model):
    """The user's model and torch's global state exactly as before, whatever happens: its
    training flags and the step's hooks here, torch's settings and random generators by the
    tracer's ``kept`` (default dtype and device too, which a forward may set); one step or
    trace at a time in the process (``one_at_a_time``)."""
    from ..trace.state import kept, one_at_a_time

    with one_at_a_time, kept():
        flags = [(m, m.training) for m in model.modules()]
        handles: list = []
        try:
            yield handles
        finally:
            for h in handles:
                h.remove()
            for m, t in flags:
                m.training = t


@contextlib.contextmanager
def _quiet_fake_tensor_log():
    """FakeTensorMode logs every failing kernel with its traceback (``log.exception`` in
    torch/_subclasses/fake_tensor.py) before raising; the error is ours to report, in one
    line, so that logger is silenced for the step and put back after."""
    log = logging.getLogger("torch._subclasses.fake_tensor")
    was = log.disabled
    log.disabled = True
    try:
        yield
    finally:
        log.disabled = was


def simulate(model, cfg: StepConfig, batch: int) -> StepMemory:
    """Simulate one steady-state training step at batch size ``batch``."""
    import torch
    from torch._subclasses.fake_tensor import DataDependentOutputException, FakeTensorMode
    from torch.nn.utils.stateless import _reparametrize_module
    from torch.nn import RNNBase

    if batch < 1:
        raise MemoryUsageError(f"batch size must be at least 1, got {batch}")
    device = torch.device(cfg.computed_on())
    meta = device.type == "meta"
    if cfg.amp and meta:
        raise MemoryUsageError("--amp --device cuda needs a torch built with CUDA (this one is "
                               "CPU-only: autocast does not run on meta tensors)")
    train_dtype = torch.float32 if cfg.amp else cfg.dtype.torch()
    in_dtypes = cfg.input_dtypes or [None] * len(cfg.shapes)

    state = _State()
    nodes = flops.NodeRows()
    names = {id(m): n for n, m in model.named_modules()}
    fake_mode = FakeTensorMode(allow_non_fake_inputs=True)

    with _quiet_fake_tensor_log(), _model_as_is(model) as handles, fake_mode:
        fakes: dict[int, torch.Tensor] = {}

        def fake_of(t, floating_dtype):
            f = fakes.get(id(t))
            if f is None:
                dt = floating_dtype if t.is_floating_point() else t.dtype
                f = torch.empty_strided(tuple(t.shape), t.stride(), dtype=dt, device=device)
                if isinstance(t, torch.nn.Parameter):
                    f.requires_grad_(t.requires_grad)
                fakes[id(t)] = f
            return f

        real_params = list(model.named_parameters(remove_duplicate=False))
        real_bufs = list(model.named_buffers(remove_duplicate=False))
        tensors = {n: fake_of(p, train_dtype) for n, p in real_params}
        tensors.update({n: fake_of(b, train_dtype) for n, b in real_bufs})
        params = list({id(f): f for f in (tensors[n] for n, _ in real_params)}.values())
        trainable = [p for p in params if p.requires_grad]
        buffers = list({id(f): f for f in (tensors[n] for n, _ in real_bufs)}.values())
        if not trainable:
            raise MemoryUsageError("the model has no trainable parameters: nothing to train")
        opt = optimizers.build(cfg.optimizer, trainable, cfg.backend)
        optimizers.warm_up(opt, trainable)
        state_tensors = optimizers.state_storages(opt)

        inputs = [torch.empty((batch, *s[1:]) if s else (), dtype=dt or train_dtype, device=device)
                  for s, dt in zip(cfg.shapes, in_dtypes)]
        excluded = {t.untyped_storage()._cdata for t in params + buffers}
        counter = SavedCounter(state, excluded)
        recorder = _recorder_class()(state, nodes, fix_rnn=device.type == "cpu",
                                     block=backends.allocation_block(cfg.backend.value))
        marks = _marks_class()(state, nodes, meta)

        calls: dict[int, MemoryRow] = {}  # module -> its last row (a recompute counts there)

        def pre(mod, args):
            if state.phase != "forward":  # a checkpoint's recompute: no new row; FLOPs to the call's
                state.stack.append(calls.get(id(mod)))
                return
            name = names.get(id(mod), "")
            row = MemoryRow(name=name, kind=type(mod).__name__,
                            depth=0 if not name else name.count(".") + 1)
            if meta and isinstance(mod, RNNBase):
                row.bound = Bound.LOWER
                row.note = "cudnn_reserve_unsized"
            state.rows.append(row)
            state.stack.append(row)
            calls[id(mod)] = row

        def post(mod, args, out):
            if state.stack:
                state.stack.pop()

        for m in model.modules():
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(post, always_call=True))

        model.train()
        autocast = torch.autocast(device.type, dtype=cfg.dtype.torch()) if cfg.amp else \
            contextlib.nullcontext()
        grads = 0
        try:
            with recorder, torch.autograd.graph.saved_tensors_hooks(counter.pack, counter.unpack):
                for t in params + buffers + state_tensors + inputs:
                    recorder.track(t)
                # The fake parameters stay in the model through the backward too: a reentrant
                # checkpoint's recompute runs the module again there (functional_call would have
                # put the user's real parameters back, and their grads would be set).
                with _reparametrize_module(model, tensors, tie_weights=True):
                    state.phase = "forward"
                    with marks, autocast:
                        out = model(*inputs)
                    loss = _loss(out)
                    del out
                    state.phase = "backward"
                    loss.backward()
                    del loss
                grads = _storage_bytes([p.grad for p in trainable if p.grad is not None])
                state.phase = "optimizer"
                opt.step()
                opt.zero_grad(set_to_none=True)
                state.phase = "done"
        except ShapetraceError:
            raise
        except DataDependentOutputException as e:
            raise ShapetraceError(f"the model's forward depends on tensor values ({e}); shapetrace "
                                  f"memory computes without values") from None
        except Exception as e:  # noqa: BLE001 - the user's forward raised: one line, not a traceback
            from ..trace.failures import ModelError

            raise ModelError(f"the training step failed on fake tensors: {type(e).__name__}: "
                             f"{' '.join(str(e).split())[:300]}{_dtype_hint(in_dtypes, train_dtype)}") from None

        peak_phase = max(PHASES, key=lambda p: recorder.peaks[p])
        return StepMemory(
            batch_size=batch,
            params=_storage_bytes(params), buffers=_storage_bytes(buffers), grads=grads,
            optimizer_state=_storage_bytes(state_tensors) if state_tensors else 0,
            saved_activations=counter.total,
            peak=recorder.peaks[peak_phase], peak_phase=peak_phase,
            phase_peaks=dict(recorder.peaks),
            flops_forward=recorder.flops["forward"], flops_backward=recorder.flops["backward"],
            rows=state.rows)


def _dtype_hint(in_dtypes: list, train_dtype: torch.dtype) -> str:
    """After a failed step: the floating inputs given a dtype other than the training one
    (``--input-dtype float64`` beside float32 weights: torch does not mix them in most
    layers), and how to leave them to the training dtype; empty where there are none."""
    odd = [(k, dt) for k, dt in enumerate(in_dtypes) if dt is not None and dt.is_floating_point and dt != train_dtype]
    if not odd:
        return ""
    which = ", ".join(f"input {k} is {str(dt).removeprefix('torch.')}" for k, dt in odd)
    return (f" ({which} and the weights train in {str(train_dtype).removeprefix('torch.')}: leave "
            f"floating inputs out of --input-dtype (dtypes= in Python) and they take the training "
            f"dtype, --dtype)")


def _loss(out):
    """The sum of every output that requires grad (a loss's own memory is a scalar), found
    as the tracer finds a forward's outputs (``inputs.tensors``: dataclass outputs too)."""
    from ..trace.inputs import tensors

    leaves = [t for t in tensors(out) if t.requires_grad]
    if not leaves:
        raise MemoryUsageError("the model's output does not require grad: nothing to train")
    loss = leaves[0].sum()
    for t in leaves[1:]:
        loss = loss + t.sum()
    return loss
