"""Stage 2 of a trace: where it runs and on which module.

Owns the device choice (``pick_device``: the ``devices.Device`` choices, plus "meta",
the tracer's own: shapes without values) and the module the forward runs on
(``prepared``): the user's model itself when it already lives there, the model with meta
tensors swapped in and everything put back (``swapped``), or a copy (``copy_to``). On its
own device the model runs on copies of its buffers, so a forward's in-place updates
(BatchNorm's statistics in train mode, counters) stay off it. The user's model and the
garbage collector are exactly as before when the ``with`` block ends; torch's global
state, the thread count that ``threads`` sets included, is ``state.kept``'s.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn

from ..core.errors import ArgumentError
from ..core.records import Warning_
from ..devices import Device
from .failures import MetaLacksValues, ModelError, first_line
from .inputs import tensors_of, uninitialized
from .weak_ids import WeakIds

META = "meta"  # the tracer's default: no compute, no weight memory (not a device that computes)

# device="auto": models this small run for real on the CPU. Their forward costs
# milliseconds, while the first meta-device op of a process costs ~1.2-2 s (torch
# imports its Python meta kernels then). Bigger models run on meta.
AUTO_MAX_PARAMS = 5_000_000
AUTO_MAX_INPUT = 1_000_000  # input elements

_CHOICES = "auto, meta, cpu or cuda"


def _text(device: str | Device) -> str:
    return device.value if isinstance(device, Device) else str(device).strip().lower()


def is_auto(device: Any) -> bool:
    return isinstance(device, (str, Device)) and _text(device) == Device.auto.value


def model_params(model: nn.Module) -> int:
    """The model's parameter count (lazy modules' unmaterialised ones have none yet)."""
    return sum(p.numel() for p in model.parameters() if not uninitialized(p))


def pick_device(device: str | Device | torch.device, model: nn.Module, input_numel: int = 0) -> torch.device:
    """The device a trace runs on. "auto": the CPU for a model on the CPU with at most
    ``AUTO_MAX_PARAMS`` parameters and ``AUTO_MAX_INPUT`` input elements, else meta."""
    if isinstance(device, torch.device):
        dev = device
    else:
        if is_auto(device):
            devices = {t.device.type for t in tensors_of(model)}
            small = model_params(model) <= AUTO_MAX_PARAMS and input_numel <= AUTO_MAX_INPUT
            return torch.device("cpu" if devices <= {"cpu"} and small else META)
        try:
            dev = torch.device(_text(device))
        except (RuntimeError, TypeError):
            raise ArgumentError(f"device must be {_CHOICES}, got {device!r}") from None
    if dev.type not in (META, Device.cpu.value, Device.cuda.value):
        raise ArgumentError(f"device must be {_CHOICES}, got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ArgumentError("device='cuda' was asked but no CUDA device is available")
    if dev.type != META and any(t.device.type == META for t in tensors_of(model)):
        raise ArgumentError(f"the model's weights are on the meta device (no values), so it "
                            f"cannot run on {dev.type}; trace it with device='meta'")
    return dev


def input_device(target: nn.Module, dev: torch.device) -> torch.device:
    """Where the inputs go: ``dev``, or for a bare "cuda" the cuda device the model is on."""
    if dev.type == "cuda" and dev.index is None:
        return next((t.device for t in tensors_of(target) if not uninitialized(t)), dev)
    return dev


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
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
def threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (None: as they are). A small model's forward takes
    milliseconds on one thread; several threads only add contention (on a busy 2-core
    machine the seed's forward took 280 ms with 2 threads and 6 ms with 1). The count is
    not put back here: ``state.kept``, which every trace runs in, owns torch's global
    settings and puts it back, also when the forward itself changed it."""
    if n is not None:
        torch.set_num_threads(n)
    yield


@contextlib.contextmanager
def prepared(model: nn.Module, dev: torch.device, train: bool,
             changed: list[str] | None = None) -> Iterator[nn.Module]:
    """The module to trace: the model itself when it already lives on ``dev``, with copies of
    its buffers swapped in; for meta, the model itself with meta tensors swapped in; in both
    cases every module's attributes are put back afterwards (``swapped``). Else a copy on
    ``dev``. ``changed`` receives the names of the user's own parameters the forward changed
    in place (only possible when it runs on them: see ``weights_changed``)."""
    modules = list(model.modules())  # one walk of the tree for all of placement
    tensors = tensors_of(modules)
    devices = {(t.device.type, t.device.index) for t in tensors if not uninitialized(t)}
    # "cuda" without an index means the current device: any one cuda device will do
    here = all(kind == dev.type and (dev.index is None or index == dev.index) for kind, index in devices)
    if here and not any(uninitialized(t) for t in tensors):
        # The forward runs for real on the user's own weights; its buffers (BatchNorm's
        # running statistics in train mode, counters it updates in place) are copies, and
        # what it does to a weight other than changing its values is put back (``_Kept``).
        kept = [_Kept(n, p) for n, p in model.named_parameters()] if dev.type != META else []
        try:
            with swapped(model, _buffer_copy, modules) as same:
                _set_mode(modules, same, train)
                yield same
        finally:
            with torch.no_grad():
                for k in kept:
                    k.put_back()
            if changed is not None:
                changed.extend(k.name for k in kept if k.p._version != k.version)
        return
    if dev.type == META and not any(isinstance(m, nn.modules.lazy.LazyModuleMixin) for m in modules):
        with swapped(model, meta_twin, modules) as same:
            _set_mode(modules, same, train)
            yield same
        return
    clone = copy_to(model, dev)
    clone.train(train)
    yield clone


class _Kept:
    """What a forward can change on one of the user's parameters without changing its
    values, saved before a trace that runs on the user's own weights and put back after it:
    the tensor it holds (``p.data = p.data.clamp(...)``: ``p.data`` is kept, a view, no
    copy), ``requires_grad``, ``.grad`` and the Python attributes set on it. A change of its
    values in place cannot be undone without copying every weight: it is reported
    (``weights_changed``)."""

    __slots__ = ("name", "p", "version", "data", "requires_grad", "grad", "attrs")

    def __init__(self, name: str, p: torch.Tensor) -> None:
        self.name, self.p, self.version, self.data = name, p, p._version, p.data
        self.requires_grad, self.grad, self.attrs = p.requires_grad, p.grad, dict(vars(p))

    def put_back(self) -> None:
        """Call under ``torch.no_grad()``."""
        p, data = self.p, self.data
        if not (p.data_ptr() == data.data_ptr() and p.untyped_storage()._cdata == data.untyped_storage()._cdata
                and p.shape == data.shape and p.stride() == data.stride() and p.dtype == data.dtype):
            p.data = data
        if p.requires_grad != self.requires_grad:
            p.requires_grad_(self.requires_grad)
        if p.grad is not self.grad:
            p.grad = self.grad
        if vars(p) != self.attrs:
            vars(p).clear()
            vars(p).update(self.attrs)


def _set_mode(modules: list[nn.Module], model: nn.Module, train: bool) -> None:
    """``model.train(train)``, unless every module is in that mode already (a model in eval
    traced in eval: ``train()`` sets the flag through ``__setattr__`` on each module, 0.5 ms
    on ResNet-50). ``swapped`` puts every module's own flag back afterwards either way."""
    if any(m.training is not train for m in modules):
        model.train(train)


def _moved(t: torch.Tensor, dev: torch.device) -> torch.Tensor:
    """``t`` on ``dev`` (on meta: no data), a Parameter again if it was one. Call under
    ``torch.no_grad()``."""
    if uninitialized(t):
        cls = type(t)
        return cls(requires_grad=t.requires_grad, device=dev, dtype=t.dtype) \
            if isinstance(t, nn.Parameter) else cls(device=dev, dtype=t.dtype)
    new = torch.empty_like(t, device=dev) if dev.type == META else t.detach().to(dev, copy=True)
    if isinstance(t, nn.Parameter):
        return nn.Parameter(new, requires_grad=t.requires_grad)
    return new


# tensor -> (what it was, its meta twin, what the twin was made as); weakly held (``weak_ids``)
_TWINS = WeakIds()
_META_DEVICE = torch.device(META)


def _signature(t: torch.Tensor) -> tuple:
    return (t.__class__, t.shape, t.stride(), t.dtype, t.requires_grad)


def meta_twin(t: torch.Tensor) -> torch.Tensor:
    """``_moved(t, meta)``, made once per tensor: every trace of a model after the first
    swaps in the same twins (on ResNet-50, 320 Parameters at 6 µs each). A twin is made anew
    when its tensor changed (shape, strides, dtype, requires_grad) or the twin itself did (a
    forward may set ``.data``, a flag or an attribute on what it is given); it holds no data,
    and nothing a forward does to it on meta reaches the user's tensor."""
    if uninitialized(t):
        return _moved(t, _META_DEVICE)
    entry = _TWINS.get(t)
    if entry is not None:
        was, twin, made = entry
        if (was == _signature(t) and made == _signature(twin) and twin.grad is None
                and not vars(twin) and twin._backward_hooks is None):
            return twin
    with torch.no_grad():
        twin = _moved(t, _META_DEVICE)
    _TWINS.set(t, (_signature(t), twin, _signature(twin)))
    return twin


def weights_changed(names: list[str], dev: torch.device) -> Warning_:
    """What the report says when a forward changed the user's parameters in place. Copying
    every weight before each trace would double the model's memory; a forward updates its
    buffers (copied), rarely its weights, so this is said rather than undone."""
    shown = ", ".join(f"`{n}`" for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return Warning_(code="weights_changed", row=names[0],
                    message=f"the forward changed {len(names)} of the model's parameters in place ({shown}); "
                            f"on device='{dev.type}' it runs on your own weights, so the change stays",
                    fix="trace on meta (the default): the model is left untouched")


def ran_on_cpu(why: MetaLacksValues, model: nn.Module) -> Warning_:
    """What the report says when the default device, meta, could not run the forward and a
    small model ran on the CPU instead (``tracer.summary``)."""
    return Warning_(code="ran_on_cpu", row="",
                    message=f"traced on the CPU, for real ({model_params(model):,} parameters): the meta device "
                            f"could not run {why.where}",
                    fix="device='meta' stops there instead; device='cpu' runs it for real from the start")


def _buffer_copy(t: torch.Tensor) -> torch.Tensor:
    """A parameter itself; a copy of a buffer or tensor attribute (which a forward may update
    in place). Parameters are shared, not copied: a copy would double the model's memory,
    and a forward changes its buffers, not its weights."""
    if isinstance(t, nn.Parameter) or uninitialized(t):
        return t
    return t.detach().clone().requires_grad_(t.requires_grad)


Move = Callable[[torch.Tensor], torch.Tensor]

# nn.Module's own containers (submodules, hooks, the non-persistent buffer names), which a
# forward changes in place (``self.proj = nn.Linear(...)`` on a first call, a hook it
# registers): ``swapped`` gives each module copies, so the change stays on the copies.
# ``_parameters`` and ``_buffers`` are made anew there anyway.
_CONTAINERS: tuple[str, ...] = tuple(
    k for k, v in vars(nn.Module()).items()
    if isinstance(v, (dict, set)) and k not in ("_parameters", "_buffers"))


def _moved_tensors(model: nn.Module, move: Move) -> dict[int, torch.Tensor]:
    """id -> ``move(t)``, for every parameter, buffer and tensor attribute of every module;
    a tensor shared by two modules (tied weights) is moved once and stays shared."""
    memo: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for m in model.modules():
            found = list(m._parameters.values()) + list(m._buffers.values())
            found += [v for v in vars(m).values() if isinstance(v, torch.Tensor)]
            for t in found:
                if t is not None and id(t) not in memo:
                    memo[id(t)] = move(t)
    return memo


@contextlib.contextmanager
def swapped(model: nn.Module, move: Move, modules: list[nn.Module] | None = None) -> Iterator[nn.Module]:
    """The model itself, its parameters, buffers and tensor attributes swapped for ``move``'s
    tensors (meta ones, or copies of the buffers) for the duration, then put back.

    Every module's attribute dict is saved first and restored afterwards (the original
    ``_parameters``, ``_buffers``, ``_modules`` and hook dicts are replaced by copies, never
    changed), so nothing the forward sets (attributes, the training flag, weights that a
    hook recomputes, a submodule or hook it adds) stays on the user's model. Containers of
    the model's own (a dict it fills as a cache) are its data: not copied. Five times
    cheaper than a structural copy (on ResNet-50, 2 ms instead of 10 ms), and no copied
    module graph for the garbage collector; one pass over ``modules`` (the model's, in
    ``model.modules()`` order), each tensor moved once, so tied weights stay tied. Not for
    lazy modules, which change their own class when they materialise (those get
    ``copy_to``). While the trace runs, another thread using the same model would see the
    swapped tensors.
    """
    if modules is None:
        modules = list(model.modules())
    memo: dict[int, torch.Tensor] = {}
    saved: list[tuple[nn.Module, dict]] = []
    new_weights = False
    try:
        with torch.no_grad():
            for m in modules:
                d = vars(m)
                attrs = dict(d)
                saved.append((m, attrs))
                for key in ("_parameters", "_buffers"):
                    old = attrs[key]
                    new = {}
                    for k, t in old.items():
                        if t is not None:
                            moved = memo.get(id(t))
                            if moved is None:
                                moved = memo[id(t)] = move(t)
                                new_weights = new_weights or (moved is not t and key == "_parameters")
                            t = moved
                        new[k] = t
                    d[key] = new if type(old) is dict else type(old)(new)
                for key in _CONTAINERS:
                    if key in attrs:
                        d[key] = attrs[key].copy()
                for k, v in attrs.items():
                    if isinstance(v, torch.Tensor):
                        moved = memo.get(id(v))
                        if moved is None:
                            moved = memo[id(v)] = move(v)
                        d[k] = moved
        if new_weights:
            _refresh_rnns(modules)  # only when weights were swapped: on CUDA it re-flattens them
        yield model
    finally:
        for m, attrs in saved:
            d = vars(m)
            d.clear()
            d.update(attrs)


def copy_to(model: nn.Module, dev: torch.device) -> nn.Module:
    """A structural copy of ``model`` whose parameters and buffers live on ``dev``.

    The memo of ``copy.deepcopy`` is seeded with the new tensors, so the weights are never
    copied (meta tensors have no data) and a tensor shared by two modules stays shared.
    """
    memo: dict[int, Any] = dict(_moved_tensors(model, functools.partial(_moved, dev=dev)))
    memo[id(memo)] = [model]  # deepcopy's convention: keep the originals (the model holds them) alive
    try:
        clone = copy.deepcopy(model, memo)
    except Exception as e:  # modules holding locks, files, generators ...
        raise ModelError(f"cannot make a {dev.type} copy of {type(model).__name__} to trace "
                         f"({type(e).__name__}: {first_line(e)}); build the model on the "
                         f"target device, or trace it with device='cpu'") from None
    _refresh_rnns(clone.modules())
    return clone


def _refresh_rnns(modules: Iterable[nn.Module]) -> None:
    for m in modules:
        if isinstance(m, nn.RNNBase):
            m._init_flat_weights()  # it caches references to its weights
