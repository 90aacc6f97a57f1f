"""torch's global state around a trace: saved before, put back after, also when the forward
raises.

A forward may change process-wide settings (``torch.set_default_dtype``,
``set_default_device``, ``manual_seed``, grad mode, the thread count, deterministic
algorithms) and draws from the random generators (dropout in train mode,
``torch.rand_like``). "Your model and torch are as before" covers all of it, so
``kept`` snapshots each setting and restores the ones that changed. The model's own
tensors are ``placement``'s job.
"""

from __future__ import annotations

import contextlib
import random
import threading
from typing import Any, Callable, Iterator

import torch


def _default_device_context() -> Any:
    # torch keeps the context ``set_default_device`` entered here (torch/__init__.py); None
    # when no default device was ever set.
    return getattr(getattr(torch, "_GLOBAL_DEVICE_CONTEXT", None), "device_context", None)


def _put_default_device(before: Any) -> None:
    if _default_device_context() is not before:
        torch.set_default_device(None if before is None else before.device)


def _cuda_rng() -> list[torch.Tensor] | None:
    # Only once CUDA is initialised: asking earlier would initialise it (seconds).
    return torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None


def _put_cuda_rng(states: list[torch.Tensor] | None) -> None:
    if states is not None:
        torch.cuda.set_rng_state_all(states)


# (read, write) for each setting, compared with == before writing back
_SETTINGS: list[tuple[Callable[[], Any], Callable[[Any], None]]] = [
    (torch.get_default_dtype, torch.set_default_dtype),
    (torch.get_num_threads, torch.set_num_threads),  # also the count placement.threads sets
    (torch.is_grad_enabled, torch.set_grad_enabled),
    (lambda: (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()),
     lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1])),
    (lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
     lambda v: torch.set_anomaly_enabled(v[0], v[1])),
    (torch.get_float32_matmul_precision, torch.set_float32_matmul_precision),
    (lambda: (torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic),
     lambda v: setattr(torch.backends.cudnn, "enabled", v[0]) or setattr(torch.backends.cudnn, "benchmark", v[1])
     or setattr(torch.backends.cudnn, "deterministic", v[2])),
]


# One trace (or memory step) at a time in a process, held by ``tracer.summary`` and the
# memory step. A trace changes what is shared by every thread while it runs: torch's
# settings, which ``kept`` puts back (two traces at once would each put back what the other
# had set), and the model itself (``placement.swapped`` gives it meta tensors and hooks for
# the duration). Reentrant: a forward may itself call ``summary``.
one_at_a_time = threading.RLock()


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """Run the block, then put torch's global state back as it was: the CPU (and, once
    initialised, CUDA) random generators, Python's ``random``, the default dtype and device,
    and the settings in ``_SETTINGS``. Not numpy's generator: not torch's, and reading its
    state costs more than the rest together (0.17 ms a trace)."""
    rng = torch.get_rng_state()
    cuda_rng = _cuda_rng()
    py_rng = random.getstate()
    device = _default_device_context()
    settings = [read() for read, _ in _SETTINGS]
    try:
        yield
    finally:
        _put_default_device(device)
        for (read, write), value in zip(_SETTINGS, settings):
            if read() != value:
                write(value)
        torch.set_rng_state(rng)
        _put_cuda_rng(cuda_rng)
        random.setstate(py_rng)
