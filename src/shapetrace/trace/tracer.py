"""Trace any nn.Module: one ``Row`` per module call and per functional op, in execution order.

How (capture -> record -> aggregate, as torchinfo does, without its weak spots):

* capture: a forward pre-hook and a forward hook on every module give the module
  calls (a module called twice gives two rows); a ``TorchFunctionMode`` sees every
  torch function the model's own code calls (``x + s``, ``torch.cat``, ``x.view``,
  ``F.relu``, ``torch.relu`` ...). Calls made inside torch.nn's own layers (the
  ``F.conv2d`` inside ``nn.Conv2d``) are torch's implementation and give no rows.
* record: shapes, parameters counted at their first use (tied weights once), MACs
  (from the core's rule for known layers, ``ops.py`` otherwise), output bytes,
  and the receptive field, kept per tensor so that residual branches merge right.
* check: each known layer's call is checked with the core's rules before it runs,
  so a meta trace rejects what CPU rejects (the meta device skips some of torch's
  checks, e.g. ConvTranspose's ``output_padding`` limit).

By default the forward runs on the meta device: shapes only, no compute, no
weight memory. The user's model is never moved or changed: the trace runs on a
copy whose parameters are meta tensors (``copy.deepcopy`` with the parameters
pre-seeded in its memo, so no weight data is copied and tied weights stay tied).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import math
import weakref
from enum import Enum
from typing import Any, Iterator, Sequence

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..core import receptive
from ..core.api import compute
from ..core.errors import ArgumentError, ShapeError, ShapetraceError, UnknownLayerError
from ..core.explain import call_text
from ..core.records import (Diagnosis, LayerResult, ReceptiveField, Report, Row, Shape, finish_totals,
                            mark_leaves, note)
from ..core import diagnose
from . import adapters, ops
from ..core.diagnose import Context, Failure, FailOp
from .fold import fold

__all__ = ["summary", "ModelError", "Device", "pick_device", "AUTO_MAX_PARAMS", "AUTO_MAX_INPUT"]

# device="auto": models this small run for real on the CPU. Their forward costs
# milliseconds, while the first meta-device op of a process costs ~1.2-2 s (torch
# imports its Python meta kernels then). Bigger models run on meta.
AUTO_MAX_PARAMS = 5_000_000
AUTO_MAX_INPUT = 1_000_000  # input elements


class ModelError(ShapetraceError):
    """The model could not be traced for a reason other than a shape error
    (its forward raised a TypeError, an op has no meta kernel, ...)."""

    exit_code = 2


class Device(str, Enum):
    AUTO = "auto"
    META = "meta"
    CPU = "cpu"
    CUDA = "cuda"


_MISSING = object()


class _CoreRejected(RuntimeError, ValueError):
    """Raised from a pre-hook when the core rejects a layer call on the meta device; a
    RuntimeError like torch's own, so a model that catches torch's error catches this."""


# --------------------------------------------------------------------------- public


def summary(model: nn.Module, input_size: Any = None, input_data: Any = None, *,
            depth: int | None = None, dtypes: Sequence[Any] | None = None,
            device: str | torch.device = "meta", core_checks: bool = True,
            mode: str = "eval") -> Report:
    """Trace ``model`` on an input and return its flow as a ``Report``.

    ``input_size``: a shape ``(1, 3, 224, 224)`` or a list of shapes (one per positional
    input); float zeros (``dtypes`` per input, e.g. ``[torch.long]`` for token ids).
    ``input_data``: a tensor, a list/tuple of tensors (positional arguments) or a dict
    (keyword arguments), as torchinfo takes it.
    ``depth``: rows deeper than this are folded into their ancestor (params and MACs add up).
    ``device``: "meta" (default: no compute, no weight memory), "cpu"/"cuda" (runs for
    real), or "auto" (cpu for small models on the CPU, else meta; see ``pick_device``).
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
    inputs = _Inputs.parse(input_size, input_data, dtypes)
    dev = pick_device(device, model, inputs.numel)
    auto = isinstance(device, str) and device.strip().lower() == Device.AUTO.value
    with _no_gc(), _prepared(model, dev, mode == "train") as target, _threads(1 if auto else None):
        in_dev = dev
        if dev.type == "cuda" and dev.index is None:  # the cuda device the model is on
            in_dev = next((t.device for t in _tensors_of(target) if not _uninitialized(t)), dev)
        args, kwargs = inputs.build(in_dev, _default_dtype(model))
        report = _Tracer(target, dev, core_checks, type(model).__name__).run(args, kwargs)
    if depth is not None:
        report = fold(report, depth)
    return report


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """No cyclic garbage collection while tracing. A trace makes many short-lived objects,
    which set off full collections; each walks every object of the process (torch's and
    the model's): on ResNet-50 that was two thirds of the first call (about 80 of 115 ms).
    Reference counting still frees everything; the collector runs again afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads, then restore. A small model's forward takes
    milliseconds on one thread; several threads only add contention (on a busy 2-core
    machine the seed's forward took 280 ms with 2 threads and 6 ms with 1)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pick_device(device: str | torch.device, model: nn.Module, input_numel: int = 0) -> torch.device:
    """The device a trace runs on. "auto": the CPU for a model on the CPU with at most
    ``AUTO_MAX_PARAMS`` parameters and ``AUTO_MAX_INPUT`` input elements, else meta."""
    if isinstance(device, torch.device):
        dev = device
    else:
        text = str(device).strip().lower()
        if text == Device.AUTO.value:
            devices = {t.device.type for t in _tensors_of(model)}
            params = sum(p.numel() for p in model.parameters() if not _uninitialized(p))
            small = params <= AUTO_MAX_PARAMS and input_numel <= AUTO_MAX_INPUT
            return torch.device("cpu" if devices <= {"cpu"} and small else "meta")
        try:
            dev = torch.device(text)
        except (RuntimeError, TypeError):
            raise ArgumentError(f"device must be auto, meta, cpu or cuda, got {device!r}") from None
    if dev.type not in ("meta", "cpu", "cuda"):
        raise ArgumentError(f"device must be auto, meta, cpu or cuda, got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ArgumentError("device='cuda' was asked but no CUDA device is available")
    if dev.type != "meta" and any(t.device.type == "meta" for t in _tensors_of(model)):
        raise ArgumentError(f"the model's weights are on the meta device (no values), so it "
                            f"cannot run on {dev.type}; trace it with device='meta'")
    return dev


# --------------------------------------------------------------------------- inputs


class _Inputs:
    """The model's input as asked: shapes to make, or tensors to move to the trace device."""

    def __init__(self, shapes: list[Shape] | None, dtypes: list[torch.dtype | None] | None, data: Any):
        self.shapes, self.dtypes, self.data = shapes, dtypes, data
        if shapes is not None:
            self.numel = sum(math.prod(s) for s in shapes)
        else:
            self.numel = sum(t.numel() for t in _tensors(data))

    @classmethod
    def parse(cls, input_size: Any, input_data: Any, dtypes: Sequence[Any] | None) -> "_Inputs":
        if input_size is not None and input_data is not None:
            raise ArgumentError("give input_size or input_data, not both")
        if input_data is not None:
            if not isinstance(input_data, (torch.Tensor, list, tuple, dict)):
                raise ArgumentError(f"input_data must be a tensor, a list/tuple of tensors or a dict, "
                                    f"got {type(input_data).__name__}")
            if not _tensors(input_data):
                raise ArgumentError("input_data holds no tensor")
            return cls(None, None, input_data)
        if input_size is None:
            raise ArgumentError("give input_size, e.g. (1, 3, 224, 224), or input_data")
        shapes = _shapes(input_size)
        dts: list[torch.dtype | None] = [None] * len(shapes)
        if dtypes is not None:
            given = [_dtype(d) for d in (dtypes if isinstance(dtypes, (list, tuple)) else [dtypes])]
            if len(given) == 1:
                given = given * len(shapes)
            if len(given) != len(shapes):
                raise ArgumentError(f"dtypes has {len(given)} entries for {len(shapes)} inputs")
            dts = list(given)
        return cls(shapes, dts, None)

    def build(self, dev: torch.device, default: torch.dtype) -> tuple[tuple, dict]:
        if self.shapes is not None:
            make = torch.empty if dev.type == "meta" else torch.zeros  # meta: no fill, no kernel
            args = tuple(make(s, dtype=dt or default, device=dev) for s, dt in zip(self.shapes, self.dtypes))
            return args, {}
        moved = _map_tensors(self.data, lambda t: _to_device(t, dev))
        if isinstance(moved, dict):
            return (), dict(moved)
        if isinstance(moved, torch.Tensor):
            return (moved,), {}
        return tuple(moved), {}


def _shapes(input_size: Any) -> list[Shape]:
    def one(s: Any) -> Shape:
        if isinstance(s, torch.Size):
            s = tuple(s)
        if not isinstance(s, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                      for d in s):
            raise ArgumentError(f"input_size must be a shape like (1, 3, 224, 224) or a list of shapes, "
                                f"got {input_size!r}")
        if any(d < 0 for d in s):
            raise ArgumentError(f"input_size has a negative size: {tuple(s)}")
        return tuple(s)

    if isinstance(input_size, (list, tuple)) and input_size and all(
            isinstance(s, (list, tuple, torch.Size)) for s in input_size):
        return [one(s) for s in input_size]
    return [one(input_size)]


def _dtype(d: Any) -> torch.dtype:
    if isinstance(d, torch.dtype):
        return d
    if isinstance(d, str):
        v = getattr(torch, d.strip().removeprefix("torch."), None)
        if isinstance(v, torch.dtype):
            return v
    raise ArgumentError(f"dtypes entries must be torch dtypes or names like 'float32', 'long'; got {d!r}")


def _default_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point() and not _uninitialized(p):
            return p.dtype
    return torch.get_default_dtype()


def _to_device(t: torch.Tensor, dev: torch.device) -> torch.Tensor:
    if dev.type == "meta":
        return torch.empty_like(t, device="meta")
    # A copy even on the same device: in-place ops in the forward must not touch the caller's data.
    return t.detach().to(dev, copy=True)


def _map_tensors(obj: Any, fn) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_map_tensors(v, fn) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


def _tensors(obj: Any, _depth: int = 0) -> list[torch.Tensor]:
    """Every tensor in a (nested) argument or output, in order."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if _depth > 8:
        return []
    if isinstance(obj, (list, tuple)):
        out: list[torch.Tensor] = []
        for v in obj:
            out += _tensors(v, _depth + 1)
        return out
    if isinstance(obj, dict):
        out = []
        for v in obj.values():
            out += _tensors(v, _depth + 1)
        return out
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields:
        out = []
        for k in fields:
            out += _tensors(getattr(obj, k, None), _depth + 1)
        return out
    return []


def _tensors_of(model: nn.Module) -> list[torch.Tensor]:
    """Every parameter and buffer of ``model``, each once (tied weights too), in one walk
    over the modules (``parameters()`` and ``buffers()`` would walk them twice)."""
    seen: set[int] = set()
    out: list[torch.Tensor] = []
    for m in model.modules():
        for t in (*m._parameters.values(), *m._buffers.values()):
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                out.append(t)
    return out


def _uninitialized(t: torch.Tensor) -> bool:
    return isinstance(t, nn.parameter.UninitializedTensorMixin)


# --------------------------------------------------------------------------- the model to run


@contextlib.contextmanager
def _prepared(model: nn.Module, dev: torch.device, train: bool) -> Iterator[nn.Module]:
    """The module to trace: the model itself when it already lives on ``dev`` (its modes are
    restored afterwards); for meta, the model itself with meta tensors swapped in and
    everything put back afterwards (``_swapped``); else a copy on ``dev``."""
    tensors = _tensors_of(model)
    devices = {(t.device.type, t.device.index) for t in tensors if not _uninitialized(t)}
    # "cuda" without an index means the current device: any one cuda device will do
    here = all(kind == dev.type and (dev.index is None or index == dev.index) for kind, index in devices)
    if here and not any(_uninitialized(t) for t in tensors):
        modes = [(m, m.training) for m in model.modules()]
        model.train(train)
        try:
            yield model
        finally:
            for m, flag in modes:
                m.training = flag
        return
    if dev.type == "meta" and not any(isinstance(m, nn.modules.lazy.LazyModuleMixin) for m in model.modules()):
        with _swapped(model, dev) as same:
            same.train(train)
            yield same
        return
    clone = _copy_to(model, dev)
    clone.train(train)
    yield clone


def _moved(t: torch.Tensor, dev: torch.device) -> torch.Tensor:
    """``t`` on ``dev`` (on meta: no data), a Parameter again if it was one. Call under
    ``torch.no_grad()``."""
    if _uninitialized(t):
        cls = type(t)
        return cls(requires_grad=t.requires_grad, device=dev, dtype=t.dtype) \
            if isinstance(t, nn.Parameter) else cls(device=dev, dtype=t.dtype)
    new = torch.empty_like(t, device=dev) if dev.type == "meta" else t.detach().to(dev, copy=True)
    if isinstance(t, nn.Parameter):
        return nn.Parameter(new, requires_grad=t.requires_grad)
    return new


def _moved_tensors(model: nn.Module, dev: torch.device) -> dict[int, torch.Tensor]:
    """id -> the moved tensor, for every parameter, buffer and tensor attribute of every module;
    a tensor shared by two modules (tied weights) is moved once and stays shared."""
    memo: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for m in model.modules():
            found = list(m._parameters.values()) + list(m._buffers.values())
            found += [v for v in vars(m).values() if isinstance(v, torch.Tensor)]
            for t in found:
                if t is not None and id(t) not in memo:
                    memo[id(t)] = _moved(t, dev)
    return memo


@contextlib.contextmanager
def _swapped(model: nn.Module, dev: torch.device) -> Iterator[nn.Module]:
    """The model itself, its parameters, buffers and tensor attributes swapped for ``dev``
    tensors for the duration, then put back.

    Every module's attribute dict is saved first and restored afterwards (the original
    ``_parameters`` and ``_buffers`` dicts are replaced, never changed), so nothing the
    forward sets (caches, the training flag, weights that a hook recomputes) stays on the
    user's model. Five times cheaper than a structural copy (on ResNet-50, 2 ms instead of
    10 ms), and no copied module graph for the garbage collector. Not for lazy modules,
    which change their own class when they materialise (those get ``_copy_to``). While the
    trace runs, another thread using the same model would see the swapped tensors.
    """
    memo = _moved_tensors(model, dev)
    saved = [(m, dict(vars(m))) for m in model.modules()]
    try:
        for m, attrs in saved:
            d = vars(m)
            for key in ("_parameters", "_buffers"):
                old = attrs[key]
                d[key] = type(old)((k, None if t is None else memo[id(t)]) for k, t in old.items())
            for k, v in attrs.items():
                if isinstance(v, torch.Tensor):
                    d[k] = memo[id(v)]
        _refresh_rnns(model)
        yield model
    finally:
        for m, attrs in saved:
            d = vars(m)
            d.clear()
            d.update(attrs)


def _copy_to(model: nn.Module, dev: torch.device) -> nn.Module:
    """A structural copy of ``model`` whose parameters and buffers live on ``dev``.

    The memo of ``copy.deepcopy`` is seeded with the new tensors, so the weights are never
    copied (meta tensors have no data) and a tensor shared by two modules stays shared.
    """
    memo: dict[int, Any] = dict(_moved_tensors(model, dev))
    memo[id(memo)] = [model]  # deepcopy's convention: keep the originals (the model holds them) alive
    try:
        clone = copy.deepcopy(model, memo)
    except Exception as e:  # modules holding locks, files, generators ...
        raise ModelError(f"cannot make a {dev.type} copy of {type(model).__name__} to trace "
                         f"({type(e).__name__}: {_first_line(e)}); build the model on the "
                         f"target device, or trace it with device='cpu'") from None
    _refresh_rnns(clone)
    return clone


def _refresh_rnns(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.RNNBase):
            m._init_flat_weights()  # it caches references to its weights


# --------------------------------------------------------------------------- the tracer


class _Frame:
    __slots__ = ("module", "name", "depth", "row", "base", "result", "core_error", "core_name", "core_kwargs")

    def __init__(self, module: nn.Module, name: str, depth: int, row: Row, base: type | None):
        self.module, self.name, self.depth, self.row, self.base = module, name, depth, row, base
        self.result: LayerResult | None = None
        self.core_error: ShapeError | None = None
        self.core_name: str | None = None
        self.core_kwargs: dict[str, Any] | None = None

    @property
    def internal(self) -> bool:
        return self.base is not None


def _unrecorded(method: Any) -> Any:
    """Run a hook with torch-function handling off. Its own tensor calls (``shape``,
    ``numel`` ...) are not the model's, and each one through the recorder costs about 1.5 µs:
    some 2,000 per ResNet-50 trace."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch._C.DisableTorchFunction():
            return method(*args, **kwargs)
    return wrapper


def _add_param(row: Row, p: torch.Tensor) -> int:
    """Count ``p`` in ``row`` (params, trainable, bytes); returns its element count."""
    n = p.numel()
    row.params += n
    if p.requires_grad:
        row.trainable_params += n
    row.param_bytes += n * p.element_size()
    return n


class _Recorder(TorchFunctionMode):
    """Sees every torch function call while the forward runs."""

    def __init__(self, tracer: "_Tracer"):
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tr = self.tracer
        if tr.busy or ops.is_skipped(func):
            return func(*args, **kwargs)
        frame = tr.stack[-1] if tr.stack else None
        try:
            out = ops.meta_fast(func, args, kwargs) if (tr.fast and func in ops.META_FAST) else NotImplemented
            if out is NotImplemented:
                out = func(*args, **kwargs)
        except Exception as e:
            tr.op_failed(func, args, kwargs, e, frame)
            raise
        if frame is not None and not frame.internal:
            tr.busy = True
            try:
                tr.op_done(func, args, kwargs, out, frame)
            finally:
                tr.busy = False
        return out


class _Tracer:
    def __init__(self, model: nn.Module, dev: torch.device, core_checks: bool, model_name: str):
        self.model = model
        self.dev = dev
        self.meta = dev.type == "meta"
        self.core_checks = core_checks
        self.fast = self.meta and core_checks  # shape-only short cuts instead of torch's meta kernels
        self.model_name = model_name
        self.names: dict[int, str] = {id(m): n for n, m in model.named_modules()}
        self.rows: list[Row] = []
        self.stack: list[_Frame] = []
        self.busy = False
        self.seen_params: dict[int, str] = {}  # id(param) -> qualified name where first counted
        self.first_row: dict[int, Row] = {}  # id(module) -> its first call's row
        self.calls: dict[int, int] = {}
        # (layer, kwargs, input shapes) -> the core's answer: repeated blocks (ResNet-50's
        # bottlenecks) ask the same question many times; LayerResult is frozen
        self.answers: dict[tuple, LayerResult] = {}
        self.rf: dict[int, tuple[weakref.ref, ReceptiveField | None]] = {}
        self.failure: Failure | None = None
        self.failure_exc: BaseException | None = None
        self.failure_append = False
        self.warnings: list = []
        self.batch: int | None = None
        self._linears: list[tuple[str, int, int]] | None = None

    # ---------------------------------------------------------------- run

    def run(self, args: tuple, kwargs: dict) -> Report:
        inputs = _tensors((args, kwargs))
        input_shapes = [tuple(t.shape) for t in inputs]
        input_bytes = sum(t.numel() * t.element_size() for t in inputs)
        if inputs and inputs[0].dim() >= 2:
            self.batch = inputs[0].shape[0]
        for t in inputs:
            nd = t.dim() - 2
            self._set_rf(t, receptive.initial(nd) if t.is_floating_point() and 1 <= nd <= 3 else None)
        handles = []
        patched: list[nn.Module] = []
        error: Diagnosis | None = None
        try:
            for m in self.model.modules():
                handles.append(m.register_forward_pre_hook(self._pre, with_kwargs=True))
                handles.append(m.register_forward_hook(self._post, with_kwargs=True))
                if self.fast and self._short_cut(m):
                    patched.append(m)
            with torch.no_grad(), _Recorder(self):
                self.model(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - every failure is either diagnosed or re-raised
            error = self._error_from(e)
        finally:
            for h in handles:
                h.remove()
            for m in patched:
                del m.forward  # the class's forward again
        self._attribute_unused_params()
        mark_leaves(self.rows)
        totals = finish_totals(self.rows, input_bytes=input_bytes)
        return Report(model=self.model_name, input_shapes=input_shapes, rows=self.rows, totals=totals,
                      warnings=self.warnings, error=error, device=self.dev.type)

    def _short_cut(self, module: nn.Module) -> bool:
        """On meta, let a plain layer call return an empty tensor of the shape the core
        computed instead of running torch's (slow, Python) meta kernel. Installed as an
        instance ``forward`` and removed after the trace."""
        base = adapters.nn_base(type(module))
        rule = ops.SHORT_CUT.get(base) if base is not None else None
        if rule is None or "forward" in vars(module):
            return False
        original = module.forward
        tracer = self

        @_unrecorded
        def fast(args: tuple, kwargs: dict) -> Any:
            frame = tracer.stack[-1] if tracer.stack else None
            if (frame is not None and frame.module is module and frame.result is not None and not kwargs
                    and len(args) == 1 and isinstance(args[0], torch.Tensor) and args[0].is_contiguous()):
                dtype = rule(module, args[0])
                if dtype is ops.SAME:
                    return args[0]  # ReLU(inplace=True), Dropout in eval, Identity
                if dtype is not None:
                    return torch.empty(frame.result.output_shape, dtype=dtype, device="meta")
            return None

        def forward(*args: Any, **kwargs: Any) -> Any:
            out = fast(args, kwargs)
            return original(*args, **kwargs) if out is None else out

        module.forward = forward
        return True

    def _error_from(self, e: Exception) -> Diagnosis:
        f = self.failure
        chain = {id(e), id(e.__cause__), id(e.__context__)}
        if f is not None and (isinstance(e, _CoreRejected) or id(self.failure_exc) in chain):
            root = self.failure_exc
            if isinstance(root, NotImplementedError) and self.meta:
                raise ModelError(f"{self.model_name}: `{f.row.name}` ({f.row.kind}) cannot run on the meta "
                                 f"device ({_first_line(root)}); trace it with device='cpu'") from None
            if self.failure_append:
                self.rows.append(f.row)
            return diagnose.diagnose(f, self._context())
        if isinstance(e, (AssertionError, ValueError)) and not isinstance(e, ShapetraceError):
            # The model's own check (``assert x.shape[1] == 3``): a shape error in its words.
            frame = self.stack[-1] if self.stack else None
            name = frame.name if frame else ""
            kind = frame.row.kind if frame else self.model_name
            return Diagnosis(row=name, kind=kind,
                             message=f"`{name or kind}` ({kind}) raised {type(e).__name__}: "
                                     f"{_first_line(e) or '(no message)'}")
        hint = ("; the meta device holds no values, so data-dependent code (.item(), "
                "if x.sum() > 0) needs device='cpu'") if self.meta else ""
        raise ModelError(f"{self.model_name}.forward raised {type(e).__name__}: {_first_line(e)}{hint}") from None

    def _context(self) -> Context:
        if self._linears is None:
            self._linears = [(n, m.in_features, m.out_features) for n, m in self.model.named_modules()
                             if isinstance(m, nn.Linear) and not _uninitialized(m.weight)]
        return Context(rows=list(self.rows), batch=self.batch, linears=self._linears)

    # ---------------------------------------------------------------- receptive field per tensor

    def _rf_of(self, t: torch.Tensor) -> Any:
        e = self.rf.get(id(t))
        if e is None or e[0]() is not t:
            return _MISSING
        return e[1]

    def _set_rf(self, t: torch.Tensor, rf: ReceptiveField | None) -> None:
        key = id(t)
        store = self.rf

        def drop(ref: weakref.ref, key: int = key) -> None:
            e = store.get(key)
            if e is not None and e[0] is ref:
                del store[key]

        store[key] = (weakref.ref(t, drop), rf)

    def _merged_rf(self, tensors: list[torch.Tensor]) -> ReceptiveField | None:
        fields = [r for r in (self._rf_of(t) for t in tensors) if r is not _MISSING]
        if not fields:
            return None
        return functools.reduce(receptive.merge, fields)

    # ---------------------------------------------------------------- module hooks

    @_unrecorded
    def _pre(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        if self.busy:
            return None
        self.busy = True
        try:
            self.failure = None  # the model caught an earlier error and went on
            parent = self.stack[-1] if self.stack else None
            name = self.names.get(id(module))
            if name is None:  # a module made inside forward, not registered on the model
                name = (parent.name + "." if parent and parent.name else "") + f"<{type(module).__name__}>"
            depth = parent.depth + 1 if parent else 0
            ins = _tensors((args, kwargs))
            row = Row(name=name, kind=type(module).__name__, depth=depth,
                      input_shapes=[tuple(t.shape) for t in ins], output_shapes=[])
            n = self.calls.get(id(module), 0) + 1
            self.calls[id(module)] = n
            if n == 1:
                self.first_row[id(module)] = row
                self._count_params(module, row)
            elif any(p is not None for p in module._parameters.values()):
                row.notes.append(note("reused_module", call=n))
            self.rows.append(row)
            frame = _Frame(module, name, depth, row, adapters.nn_base(type(module)))
            self.stack.append(frame)
            if self.core_checks and frame.internal:
                self._core_check(frame, args, kwargs)
        finally:
            self.busy = False
        return None

    def _core_check(self, frame: _Frame, args: tuple, kwargs: dict) -> None:
        call = adapters.core_call(frame.module)
        if call is None:
            return
        name, kw = call
        n = adapters.n_inputs(name)
        if kwargs or len(args) != n or not all(isinstance(a, torch.Tensor) for a in args):
            return  # called with extra arguments the core's rule does not model
        shapes = tuple(frame.row.input_shapes)  # the args: all tensors, no kwargs
        frame.core_name, frame.core_kwargs = name, kw
        try:
            frame.result = self._compute(name, shapes[0] if n == 1 else list(shapes), kw)
        except (ArgumentError, UnknownLayerError):
            return  # the arguments could not be mapped: no formula, no check
        except ShapeError as e:
            frame.core_error = e
            if self.meta:
                self._fail(_module_failure(frame, str(e), e), e, append=False)
                raise _CoreRejected(str(e)) from None

    def _compute(self, name: str, shape: Any, kw: dict[str, Any]) -> LayerResult:
        """``compute``, remembered for the trace: repeated blocks ask the same question.
        Errors are not remembered (they raise every time)."""
        try:
            key: tuple | None = (name, tuple(kw.items()), tuple(shape))
            hash(key)
        except TypeError:  # an unhashable argument value: ask the core every time
            key = None
        result = self.answers.get(key) if key is not None else None
        if result is None:
            result = compute(name, shape, **kw)
            if key is not None:
                self.answers[key] = result
        return result

    @_unrecorded
    def _post(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        if self.busy:
            return None
        self.busy = True
        try:
            while self.stack and self.stack[-1].module is not module:
                self.stack.pop()  # frames whose forward raised and was caught by the model
            if not self.stack:
                return None
            frame = self.stack.pop()
            self.failure = None
            row = frame.row
            ins = _tensors((args, kwargs))
            outs = _tensors(output)
            row.output_shapes = [tuple(t.shape) for t in outs]
            row.output_bytes = _new_bytes(ins, outs)
            has_children = self.rows[-1] is not row
            res = frame.result
            rf: Any
            if res is not None:
                row.macs = res.macs
                row.formulas = list(res.formulas)
                row.notes = list(res.notes) + row.notes
                row.kwargs = dict(res.kwargs)
                first = self._rf_of(ins[0]) if ins else _MISSING
                rf = receptive.apply(None if first is _MISSING else first, res)
                if has_children and outs:
                    inner = self._rf_of(outs[0])
                    rf = rf if inner is _MISSING else inner
            elif frame.internal and not has_children:
                row.macs = ops.module_macs(module, frame.base, ins, outs)
                rf = self._merged_rf(ins[:1]) if ops.module_keeps_rf(frame.base) else None
            else:  # the model's own module or a torch.nn container: its rows say it all
                row.macs = 0
                rf = self._rf_of(outs[0]) if outs else None
                rf = None if rf is _MISSING else rf
            row.receptive_field = rf
            for t in outs:
                if res is not None or self._rf_of(t) is _MISSING or (frame.internal and not has_children):
                    self._set_rf(t, rf)
        finally:
            self.busy = False
        return None

    def _count_params(self, module: nn.Module, row: Row) -> None:
        for pname, p in module._parameters.items():
            if p is None or _uninitialized(p):
                continue
            qual = f"{row.name}.{pname}" if row.name else pname
            owner = self.seen_params.get(id(p))
            if owner is not None:
                row.notes.append(note("tied_params", param=qual, owner=owner, count=p.numel()))
                continue
            self.seen_params[id(p)] = qual
            _add_param(row, p)

    def _attribute_unused_params(self) -> None:
        """Parameters of modules the forward never called (MultiheadAttention's out_proj is
        used through its weight; an unused head) go to the nearest called ancestor, so that
        the rows' params add up to the model's unique parameter count."""
        modules = dict(self.model.named_modules())
        for name, m in modules.items():
            if id(m) in self.first_row:
                continue
            unseen = [p for p in m._parameters.values()
                      if p is not None and not _uninitialized(p) and id(p) not in self.seen_params]
            if not unseen:
                continue
            anc = name
            row = None
            while anc:
                anc = anc.rpartition(".")[0]
                owner = modules.get(anc)
                if owner is not None and id(owner) in self.first_row:
                    row = self.first_row[id(owner)]
                    break
            if row is None:
                continue  # the forward failed before reaching any ancestor
            count = 0
            for p in unseen:
                self.seen_params[id(p)] = name
                count += _add_param(row, p)
            row.notes.append(note("unused_params", module=name, count=count))

    # ---------------------------------------------------------------- functional ops

    def op_done(self, func: Any, args: tuple, kwargs: dict, out: Any, frame: _Frame) -> None:
        self.failure = None
        ins = _tensors((args, kwargs))
        if not any(self._rf_of(t) is not _MISSING for t in ins):
            # No activation among the inputs: creation ops (torch.zeros), work on parameters
            # alone (a lazy layer's init, weight normalisation) are not part of the flow.
            return
        outs = _tensors(out)
        if not outs:
            return
        if func in ops.PASSTHROUGH:
            rf = self._rf_of(ins[0])
            for t in outs:
                if t is not ins[0] and rf is not _MISSING:
                    self._set_rf(t, rf)
            return
        kind = ops.op_kind(func)
        row = Row(name=f"{frame.name}.{kind}" if frame.name else kind, kind=kind, depth=frame.depth + 1,
                  input_shapes=[tuple(t.shape) for t in ins], output_shapes=[tuple(t.shape) for t in outs],
                  macs=ops.op_macs(func, args, kwargs, outs), output_bytes=_new_bytes(ins, outs), is_op=True)
        layer = self._functional_layer(func, args, kwargs, ins)
        if layer is not None:  # F.conv2d & co.: the layer's formula and receptive field
            row.formulas, row.notes, row.kwargs = list(layer.formulas), list(layer.notes), dict(layer.kwargs)
            first = self._rf_of(ins[0])
            rf = receptive.apply(None if first is _MISSING else first, layer)
        else:
            rf = self._op_rf(func, args, kwargs, ins, outs)
        row.receptive_field = rf
        for t in outs:
            self._set_rf(t, rf)
        if func in ops.VIEWLIKE:
            req = ops.view_request(args, kwargs)
            if req is not None:
                row.kwargs = {"shape": list(req)}
                self._check_batch(row, req, ins[0], outs[0])
        elif func in ops.CONCAT:
            row.kwargs = {"dim": ops.cat_dim(args, kwargs)}
        self.rows.append(row)

    def _functional_layer(self, func: Any, args: tuple, kwargs: dict,
                          ins: list[torch.Tensor]) -> LayerResult | None:
        if not self.core_checks:
            return None
        call = adapters.functional_call(func, args, kwargs)
        if call is None or not ins:
            return None
        name, kw = call
        try:
            return self._compute(name, tuple(ins[0].shape), kw)
        except ShapeError:  # torch accepted the call: no formula rather than a wrong one
            return None

    def _op_rf(self, func: Any, args: tuple, kwargs: dict, ins: list[torch.Tensor],
               outs: list[torch.Tensor]) -> ReceptiveField | None:
        tracked = [t for t in ins if self._rf_of(t) is not _MISSING]
        if not tracked:
            return None
        rule = ops.rf_rule(func)
        if rule is ops.RFRule.KEEP and all(t.dim() == outs[0].dim() for t in tracked):
            return self._merged_rf(tracked)
        if rule is ops.RFRule.CAT and outs[0].dim() >= 3:
            if ops.cat_dim(args, kwargs) % outs[0].dim() in (0, 1):  # batch or channels
                return self._merged_rf(tracked)
        return None

    def _check_batch(self, row: Row, req: tuple[int, ...], x: torch.Tensor, y: torch.Tensor) -> None:
        """A view/reshape with -1 that mixed samples: rows no longer align with the batch."""
        b = self.batch
        if b is None or -1 not in req or x.dim() < 2 or y.dim() < 1 or x.shape[0] != b:
            return
        if y.shape[0] % b:
            self.warnings.append(diagnose.batch_changed(row, req, tuple(x.shape), tuple(y.shape),
                                                        self._context()))

    def op_failed(self, func: Any, args: tuple, kwargs: dict, exc: BaseException, frame: _Frame | None) -> None:
        if self.failure is not None and self.failure_exc is exc:
            return
        was = self.busy
        self.busy = True
        try:
            if frame is None:
                return
            if frame.internal:
                msg = str(frame.core_error) if frame.core_error else _first_line(exc)
                self._fail(_module_failure(frame, msg, frame.core_error), exc, append=False)
                return
            ins = _tensors((args, kwargs))
            kind = ops.op_kind(func)
            row = Row(name=f"{frame.name}.{kind}" if frame.name else kind, kind=kind, depth=frame.depth + 1,
                      input_shapes=[tuple(t.shape) for t in ins], output_shapes=[], is_op=True)
            op, info = _classify_op(func, args, kwargs, ins)
            self._fail(Failure(row=row, op=op, message=_first_line(exc), info=info), exc, append=True)
        finally:
            self.busy = was

    def _fail(self, failure: Failure, exc: BaseException, *, append: bool) -> None:
        self.failure = failure
        self.failure_exc = exc
        self.failure_append = append


# --------------------------------------------------------------------------- helpers


def _module_failure(frame: _Frame, message: str, core_error: ShapeError | None) -> Failure:
    m, base = frame.module, frame.base
    info: dict[str, Any] = {}
    op = FailOp.OTHER
    if base is not None and issubclass(base, nn.Linear):
        op = FailOp.LINEAR
        info = {"in_features": m.in_features, "out_features": m.out_features, "module": True}
    elif base is not None and issubclass(base, nn.modules.conv._ConvNd) and not m.transposed:
        op = FailOp.CONV
        nd = len(m.kernel_size)
        info = {"in_channels": m.in_channels, "ndim": nd}
        shape = frame.row.input_shapes[0] if frame.row.input_shapes else ()
        if frame.core_name and len(shape) >= nd + 1 and shape[-(nd + 1)] != m.in_channels:
            fixed = {k: (v[0] if isinstance(v, tuple) and v and len(set(v)) == 1 else v)
                     for k, v in (frame.core_kwargs or {}).items()}  # (3, 3) -> 3, as people write it
            fixed["in_channels"] = shape[-(nd + 1)]
            info["call"] = call_text(frame.core_name, fixed)
    return Failure(row=frame.row, op=op, message=message, info=info,
                   argument=core_error.argument if core_error else None,
                   fix=core_error.fix if core_error else None)


_LINEAR_FUNCS = frozenset(ops._resolve(torch.nn.functional, ("linear",)))
_MATMUL_FUNCS = frozenset(ops._resolve(torch, ("matmul", "mm")) + ops._resolve(
    torch.Tensor, ("matmul", "mm", "__matmul__")))
_CONV_FUNCS = frozenset(ops._resolve(torch.nn.functional, ("conv1d", "conv2d", "conv3d")))
_BINARY = frozenset(ops._resolve(torch, ("add", "sub", "mul", "div")) + ops._resolve(torch.Tensor, (
    "add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_", "__add__", "__radd__", "__iadd__",
    "__sub__", "__rsub__", "__isub__", "__mul__", "__rmul__", "__imul__", "__truediv__", "__itruediv__")))
_STACK = frozenset(ops._resolve(torch, ("stack", "hstack", "vstack")))


def _classify_op(func: Any, args: tuple, kwargs: dict, ins: list[torch.Tensor]) -> tuple[FailOp, dict]:
    if func in ops.VIEWLIKE:
        return FailOp.VIEW, {"request": ops.view_request(args, kwargs)}
    if func in _LINEAR_FUNCS and len(ins) >= 2 and ins[1].dim() == 2:
        return FailOp.LINEAR, {"in_features": ins[1].shape[1], "out_features": ins[1].shape[0]}
    if func in _MATMUL_FUNCS and len(ins) >= 2 and ins[1].dim() == 2:
        return FailOp.LINEAR, {"in_features": ins[1].shape[0], "out_features": ins[1].shape[1]}
    if func in _CONV_FUNCS and len(ins) >= 2:
        groups = kwargs.get("groups", args[6] if len(args) > 6 else 1)
        return FailOp.CONV, {"in_channels": ins[1].shape[1] * int(groups), "ndim": ins[1].dim() - 2}
    if func in _BINARY and len(ins) >= 2:
        return FailOp.ADD, {}
    if func in ops.CONCAT or func in _STACK:
        return FailOp.CAT, {"dim": ops.cat_dim(args, kwargs)}
    return FailOp.OTHER, {}


def _new_bytes(ins: list[torch.Tensor], outs: list[torch.Tensor]) -> int:
    """Bytes the outputs newly allocate: a view of an input or an in-place result adds none."""
    bases = set()
    for t in ins:
        bases.add(id(t))
        if t._base is not None:
            bases.add(id(t._base))
    total = 0
    for t in outs:
        if id(t) in bases or (t._base is not None and id(t._base) in bases):
            continue
        total += t.numel() * t.element_size()
    return total


def _first_line(e: BaseException) -> str:
    for line in str(e).splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""
