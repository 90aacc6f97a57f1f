"""User strings become enums here (optimizer, dtype, backend) and a budget becomes bytes."""

from __future__ import annotations

import math
import re
from enum import Enum

from ..core.errors import ShapetraceError


class MemoryUsageError(ShapetraceError):
    """Bad arguments to ``shapetrace memory`` / ``train_memory`` (exit code 2)."""

    exit_code = 2


class Optimizer(str, Enum):
    SGD = "sgd"  # no state
    MOMENTUM = "momentum"  # one buffer per parameter
    ADAM = "adam"  # exp_avg and exp_avg_sq per parameter, plus a step count
    ADAMW = "adamw"


class DType(str, Enum):
    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"

    def torch(self):
        import torch

        return getattr(torch, self.value)


class Backend(str, Enum):
    CPU = "cpu"
    CUDA = "cuda"


def _enum(cls, value, what: str):
    if isinstance(value, cls):
        return value
    text = str(value).strip().lower() if value is not None else ""
    for m in cls:
        if m.value == text:
            return m
    choices = ", ".join(m.value for m in cls)
    raise MemoryUsageError(f"unknown {what} {value!r}; choose one of {choices}")


def as_optimizer(v) -> Optimizer:
    return _enum(Optimizer, v, "optimizer")


def as_dtype(v) -> DType:
    return _enum(DType, v, "dtype")


def as_backend(v) -> Backend:
    return _enum(Backend, v, "device")


def check_batch_size(b) -> int:
    """A batch size: an int >= 1 (True is not a batch size)."""
    if isinstance(b, bool) or not isinstance(b, int) or b < 1:
        raise MemoryUsageError(f"batch size must be a positive integer, got {b!r}")
    return b


# Binary units only: "16GB" is ambiguous (10**9 or 2**30), so it is refused with a hint.
_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50}
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
MAX_BYTES = 2**63 - 1  # torch counts bytes in int64


def parse_budget(text) -> int:
    """'16GiB', '1.5 TiB', '512MiB' or a plain number of bytes -> bytes (an int > 0)."""
    if isinstance(text, bool):
        raise MemoryUsageError(f"budget must be a size like 16GiB, got {text!r}")
    if isinstance(text, int):
        value, unit = text, 1
    else:
        m = _BUDGET.match(str(text))
        if not m:
            raise MemoryUsageError(f"budget must be a size like 16GiB or 512MiB, got {text!r}")
        key = m.group(2).lower()
        if key not in _UNITS:
            hint = f"; did you mean {m.group(1)}{m.group(2)[0].upper()}iB?" if key in (
                "kb", "mb", "gb", "tb", "pb", "k", "m", "g", "t") else ""
            raise MemoryUsageError(f"budget {text!r}: unknown unit {m.group(2)!r} (use B, KiB, MiB, "
                                   f"GiB, TiB){hint}")
        value, unit = float(m.group(1)), _UNITS[key]
    total = value * unit
    if not math.isfinite(total) or total > MAX_BYTES:
        raise MemoryUsageError(f"budget {text!r} is larger than any device (more than 2**63 bytes)")
    if total < 1:
        raise MemoryUsageError(f"budget must be positive, got {text!r}")
    return int(total)
