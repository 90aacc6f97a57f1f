"""The ``--device`` choice of the commands that compute (train, experiment depth).

Torch-free, so that the CLI can name the choices without importing torch; ``resolve``
imports it only when it is called.
"""

from __future__ import annotations

import enum
import os

from .core.errors import ArgumentError


class Device(str, enum.Enum):
    auto = "auto"  # CUDA when there is one, else the CPU
    cpu = "cpu"
    cuda = "cuda"


def resolve(choice: Device) -> str:
    """``"cuda"`` or ``"cpu"``; ArgumentError for ``cuda`` on a machine without it."""
    import torch

    if choice is Device.auto:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice is Device.cuda and not torch.cuda.is_available():
        raise ArgumentError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    return choice.value


def max_threads() -> int:
    """The most CPU threads a command may ask torch for: the cores this process may run on.
    More only oversubscribes the cores, and far more crashes OpenMP itself (``--threads
    100000`` segfaulted in libgomp's thread creation, 5000 hung)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: object, option: str = "--threads") -> None:
    """ArgumentError unless ``threads`` is an integer in 1..max_threads()."""
    cap = max_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= cap:
        raise ArgumentError(f"{option} must be an integer from 1 to {cap} (the CPU cores available "
                            f"here), got {threads!r}", argument=option.lstrip("-").replace("-", "_"))
