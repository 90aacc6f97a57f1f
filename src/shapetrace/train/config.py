"""The one training configuration: a frozen dataclass that the CLI fills and every checkpoint
stores (as nanoGPT saves its config with its weights). torch-free.

Named presets are starting points; options given on the command line override them.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from ..core.errors import ArgumentError
from ..devices import Device, check_threads


SAMPLE_XOR_DATA = "--sample and --data exclude each other: the sample is bundled"


class Optimizer(str, enum.Enum):
    """The one optimizer choice of every command that trains (``train``, ``experiment depth``);
    ``train.optim.make_optimizer`` builds it."""

    adam = "adam"  # torch.optim.Adam (weight decay added to the gradient)
    adamw = "adamw"  # torch.optim.AdamW (decoupled weight decay)
    sgd = "sgd"  # SGD with momentum (Nesterov in ``train``, classical in ``experiment depth``)


class Schedule(str, enum.Enum):
    onecycle = "onecycle"  # torch.optim.lr_scheduler.OneCycleLR (Smith & Topin, 2018)
    cosine = "cosine"  # linear warm-up, then cosine decay to zero
    constant = "constant"  # the tutorial loop: no schedule


@dataclass(frozen=True)
class TrainConfig:
    # data
    data: str | None = None  # folder with the four MNIST files; None: $SHAPETRACE_DATA, then the cache
    sample: bool = False  # train on the bundled 1,000-digit sample (offline demo)
    train_subset: int | None = None  # use only the first N training digits (tests, quick looks)
    test_subset: int | None = None  # evaluate on the first N test digits
    # recipe
    epochs: int = 4
    batch_size: int = 256
    optimizer: Optimizer = Optimizer.adamw
    lr: float = 2e-3  # the peak learning rate of the schedule
    weight_decay: float = 5e-2
    momentum: float = 0.9  # SGD's Nesterov momentum; AdamW's beta1 (cycled by one-cycle)
    schedule: Schedule = Schedule.onecycle
    warmup: float = 0.2  # fraction of the steps spent warming up
    label_smoothing: float = 0.1
    shift: int = 2  # random translation of up to this many pixels in x and y; 0: off
    seed: int = 0
    eval_batch_size: int = 1000
    batchnorm: bool = False  # not the seed's: BatchNorm2d after each conv of the residual blocks
    # where and how
    out: str = "runs/mnist"
    device: Device = Device.auto
    threads: int | None = None  # torch intra-op threads; None: the cores divided among local ranks
    # the reduction: each batch is split into this many shards (every shards-th digit) whose mean
    # gradients are folded in shard order (train/distributed.py); None: the number of processes.
    # One process with --shards N computes bit for bit what N torchrun processes compute.
    shards: int | None = None
    bf16: bool = False  # autocast to bfloat16 (CUDA; also accepted on CPUs with AVX512-BF16)
    channels_last: bool = True  # NHWC memory format for the convolutions
    compile: bool = False  # torch.compile the model
    preset: str = "default"

    def __post_init__(self) -> None:
        for name, enum_type in (("optimizer", Optimizer), ("schedule", Schedule), ("device", Device)):
            object.__setattr__(self, name, _as_enum(name, enum_type, getattr(self, name)))
        _check_numbers(self)
        _check(self.lr <= MAX_LR, "lr", f"must be at most {MAX_LR:g}", self.lr)
        _check(self.lr > 0, "lr", "must be positive", self.lr)
        _check(self.weight_decay >= 0, "weight_decay", "must be 0 or more", self.weight_decay)
        _check(0 <= self.momentum < 1, "momentum", "must be in [0, 1)", self.momentum)
        _check(0 <= self.warmup < 1, "warmup", "must be in [0, 1)", self.warmup)
        _check(0 <= self.label_smoothing < 1, "label_smoothing", "must be in [0, 1)", self.label_smoothing)
        if self.threads is not None:
            check_threads(self.threads)
        if self.shards is not None and self.batch_size % self.shards:
            raise ArgumentError(f"--batch-size {self.batch_size} must be a multiple of --shards "
                                f"{self.shards}", argument="shards")
        if self.sample and self.data:
            raise ArgumentError(SAMPLE_XOR_DATA, argument="sample")
        _check_preset(self.preset)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (enums as their values), as stored in checkpoints and metrics.json."""
        return {f.name: (v.value if isinstance(v, enum.Enum) else v)
                for f in fields(self) for v in [getattr(self, f.name)]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ArgumentError(f"unknown training config keys: {', '.join(unknown)}")
        return cls(**dict(d))

    @classmethod
    def from_preset(cls, preset: str = "default", **overrides: Any) -> "TrainConfig":
        """The preset's values, then ``overrides`` (None values mean "not given")."""
        _check_preset(preset)
        given = {k: v for k, v in overrides.items() if v is not None}
        optimizer = _as_enum("optimizer", Optimizer,
                             given.get("optimizer", PRESETS[preset].get("optimizer", cls.optimizer)))
        values = dict(OPTIMIZER_DEFAULTS[optimizer])  # lr and weight decay that suit the optimizer
        values.update(PRESETS[preset])
        if given.get("sample"):
            values.update(SAMPLE_DEFAULTS)  # 800 digits: smaller batches, more epochs
        values.update(given)
        return cls(preset=preset, **values)


def _as_enum(name: str, enum_type: type[enum.Enum], value: Any) -> Any:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum_type)
        raise ArgumentError(f"--{name.replace('_', '-')} must be one of {choices}, got {value!r}",
                            argument=name) from None


def _check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise ArgumentError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}", argument="preset")


# The range of every integer option, checked before any work: torch takes 64-bit integers
# (``torch.manual_seed`` refused ``--seed 99999999999999999999`` with a traceback) and a count
# beyond these is a typo, not a run (10,000 epochs of MNIST take weeks on a CPU).
INT_RANGES: dict[str, tuple[int, int]] = {
    "epochs": (1, 10_000),
    "batch_size": (1, 1_000_000),
    "eval_batch_size": (1, 1_000_000),
    "train_subset": (1, 1_000_000_000),
    "test_subset": (1, 1_000_000_000),
    "shift": (0, 8),
    "seed": (0, 2 ** 63 - 1),
    "shards": (1, 1024),
}
# A learning rate this large already diverges on the first step; far larger ones crash torch
# itself (``--lr 1e308``: Adam's step size does not fit the float32 parameters, "value cannot be
# converted to type float without overflow", a traceback).
MAX_LR = 1e3


def _check_numbers(cfg: "TrainConfig") -> None:
    """The class check: integers are integers within ``INT_RANGES``, floats are finite real
    numbers (``--lr inf`` trained on NaN losses and exited 0)."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if f.name in INT_RANGES and value is not None:
            check_int(f.name, value, *INT_RANGES[f.name])
        elif f.type in ("float", float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                _check(False, f.name, "must be a number", value)
            _check(math.isfinite(value), f.name, "must be a finite number", value)


def check_int(name: str, value: Any, lo: int, hi: int) -> None:
    """ArgumentError naming ``--name`` unless ``value`` is an integer (not a bool) in lo..hi: the
    one range check of every command that trains (``train``'s config, ``experiment depth``'s)."""
    if isinstance(value, bool) or not isinstance(value, int):
        _check(False, name, "must be an integer", value)
    _check(lo <= value <= hi, name, f"must be an integer from {lo:,} to {hi:,}", value)


def _check(ok: bool, name: str, what: str, value: Any) -> None:
    if not ok:
        raise ArgumentError(f"--{name.replace('_', '-')} {what}, got {value!r}", argument=name)


# What --optimizer changes unless --lr / --weight-decay are given. AdamW's decoupled decay is
# multiplied by the learning rate (Loshchilov & Hutter, 2019), hence its larger value.
OPTIMIZER_DEFAULTS: dict[Optimizer, dict[str, Any]] = {
    Optimizer.adam: {"lr": 2e-3, "weight_decay": 0.0},
    Optimizer.adamw: {"lr": 2e-3, "weight_decay": 5e-2},
    Optimizer.sgd: {"lr": 5e-2, "weight_decay": 5e-4},
}

# What --sample changes unless given: about 150 steps, some 20 s on a 2-core CPU.
SAMPLE_DEFAULTS: dict[str, Any] = {"batch_size": 64, "epochs": 12}

# Presets: only the values that differ from the dataclass defaults.
PRESETS: dict[str, dict[str, Any]] = {
    # 4 epochs; 99.63% test accuracy for seed 0 (docs/benchmarks.md, section 3)
    "default": {},
    # the longer recipe for >= 99.6%: more epochs, the same architecture
    "long": {"epochs": 8},
    # the shortest way to 99%: one pass over the first 40,000 digits at batch 64 (99.20-99.29%
    # for seeds 0-2 in about 35 s of training on 2 cores; docs/benchmarks.md, section 3)
    "sprint": {"epochs": 1, "batch_size": 64, "train_subset": 40_000},
}
