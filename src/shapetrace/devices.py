"""The ``--device`` choice of the commands that compute (train, experiment depth).

Torch-free, so that the CLI can name the choices without importing torch; ``resolve``
imports it only when it is called.
"""

from __future__ import annotations

import enum

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
