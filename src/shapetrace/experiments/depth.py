"""Plain vs residual networks of growing depth, trained under the same budget.

For every depth, with and without BatchNorm, a ``PlainNet`` and a ``ResNet``
(``shapetrace.models.depth``: the same layers, the same parameter count, the same
initial weights) train for the same number of steps on the same batches in the same
order. Recorded per net: the training loss and accuracy of every step, the test
accuracy at the end, the gradient norm of every weighted layer at initialisation and
every ``grad_every`` steps during training, and the wall time.

The claims under test (He et al. 2016, "Deep Residual Learning for Image Recognition",
Fig. 1 and 6): the deeper plain net has the *higher training loss* (not overfitting:
it fits the training data worse); the residual net of the same depth does not. And
(the seed's explanation) in deep plain nets without BatchNorm the gradients reaching
the first layers are orders of magnitude smaller than at the last layers.

This module holds the configuration and the loop; ``depth_run`` runs it as the command
does (the run folder, the data, the outputs); ``depth_report`` and ``depth_plots`` turn
the results into Markdown and pictures. The optimizer, the forward/backward step and the
evaluation pass are ``train``'s (``train/optim``, ``train/step``, ``train/infer``). torch
is imported inside the functions that train, so that importing this module (for its
config and parsing) stays light.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from ..core.errors import ArgumentError
from ..devices import Device, check_threads, resolve
from ..models.depth_init import Init
from ..train.config import INT_RANGES as TRAIN_INT_RANGES
from ..train.config import Optimizer, check_int

# The deepest net accepted: He et al. trained 1202 layers (CIFAR-10, section 4.2, "Exploring
# over 1000 layers"); far deeper nets only build for minutes and fill the memory
# (``--depths 6000000002`` hung). The other counts are bounded for the same reason.
MAX_DEPTH = 1202
INT_RANGES: dict[str, tuple[int, int]] = {
    "width": (1, 1024),
    "steps": (1, 10_000_000),
    # the options train has too, with train's bounds
    **{k: TRAIN_INT_RANGES[k] for k in ("batch_size", "train_subset", "test_subset")},
    "grad_every": (1, 10_000_000),
    "probe_size": (1, 1_000_000),
}

SCHEMA = "shapetrace.experiment.depth/1"


class Kind(str, enum.Enum):
    PLAIN = "plain"
    RESIDUAL = "residual"


class BatchNormChoice(str, enum.Enum):
    BOTH = "both"
    WITH = "with"
    WITHOUT = "without"

    def settings(self) -> tuple[bool, ...]:
        """The ``batchnorm`` flags to train, without first (where the gradients vanish)."""
        return {"both": (False, True), "with": (True,), "without": (False,)}[self.value]


class Preset(str, enum.Enum):
    CPU = "cpu"
    GPU = "gpu"


@dataclass(frozen=True)
class DepthConfig:
    """Everything that decides the experiment's numbers; saved in results.json.

    The CPU defaults were chosen by measurement on a shared 2-core machine (see
    docs/benchmarks.md, section 4): the twelve nets of depths 8, 20, 56 train in a few
    minutes and both effects are clear.
    """

    depths: tuple[int, ...] = (8, 20, 56)
    width: int = 8  # channels of the first stage; the others have 2x and 4x
    stem_stride: int = 2  # 2: stages on 14x14, 7x7, 4x4 (a quarter of the compute of 1)
    batchnorm: BatchNormChoice = BatchNormChoice.BOTH
    init: Init = Init.DEFAULT
    optimizer: Optimizer = Optimizer.adam  # sgd: momentum 0.9, as He et al.
    lr: float = 1e-3
    warmup: float = 0.1  # fraction of the steps over which the learning rate rises linearly
    steps: int = 200
    batch_size: int = 32
    train_subset: int = 10_000  # training digits drawn (seeded) from the 60,000
    test_subset: int = 2_000  # the first test digits
    grad_every: int = 10  # record every layer's gradient norm every this many steps
    probe_size: int = 256  # training digits for the gradient norms at initialisation
    seed: int = 0
    device: Device = Device.cpu
    threads: int | None = 1  # torch CPU threads; None: torch's default (one per core)

    def validate(self) -> "DepthConfig":
        """Raise ArgumentError naming the first bad field; return self."""
        from ..models.depth import blocks_per_stage

        if not self.depths:
            raise ArgumentError("--depths is empty; give depths like 8,20,56")
        for d in self.depths:
            try:
                blocks_per_stage(d)
            except ArgumentError as e:
                raise ArgumentError(f"--depths: {e}", argument="depths") from None
            if d > MAX_DEPTH:
                raise ArgumentError(f"--depths: depth {d} is deeper than the {MAX_DEPTH} layers this experiment "
                                    f"trains at most", argument="depths")
        if len(set(self.depths)) != len(self.depths):
            raise ArgumentError(f"--depths lists a depth twice: {','.join(map(str, self.depths))}")
        for field, (lo, hi) in INT_RANGES.items():
            check_int(field, getattr(self, field), lo, hi)
        if self.stem_stride not in (1, 2):
            raise ArgumentError(f"--stem-stride must be 1 or 2, got {self.stem_stride!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ArgumentError(f"--lr must be a positive number, got {self.lr!r}")
        if not (isinstance(self.warmup, (int, float)) and math.isfinite(self.warmup)):
            raise ArgumentError(f"--warmup must be a fraction in [0, 1), got {self.warmup!r}")
        if not (0 <= self.warmup < 1):
            raise ArgumentError(f"--warmup must be a fraction in [0, 1), got {self.warmup!r}")
        if self.batch_size > self.train_subset:
            raise ArgumentError(f"--batch-size {self.batch_size} is larger than --train-subset "
                                f"{self.train_subset}")
        if self.threads is not None:
            check_threads(self.threads)  # more than the cores: libgomp crashed, hung or exited 1
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2 ** 63:
            raise ArgumentError(f"--seed must be a non-negative 64-bit integer, got {self.seed!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["depths"] = list(self.depths)
        return {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in d.items()}


PRESETS: dict[Preset, DepthConfig] = {
    Preset.CPU: DepthConfig(),
    # On a GPU: the paper's full-resolution stages, wider, the whole training set.
    Preset.GPU: DepthConfig(width=16, stem_stride=1, steps=3000, batch_size=128,
                            train_subset=60_000, test_subset=10_000, grad_every=50,
                            device=Device.auto, threads=None),
}


def parse_depths(text: str) -> tuple[int, ...]:
    """``"8,20,56"`` (spaces allowed) -> (8, 20, 56); ArgumentError for anything else.

    Only the list's format is checked here; ``DepthConfig.validate`` checks each depth.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if not text or not str(text).strip() or any(p == "" for p in parts):
        raise ArgumentError(f"--depths must be integers separated by commas, like 8,20,56; got {text!r}")
    depths = []
    for p in parts:
        if not (p.isascii() and p.isdigit()):  # rejects "8.5", "-8", "8;20", "eight", "²"
            raise ArgumentError(f"--depths must be integers separated by commas, like 8,20,56; "
                                f"{p!r} in {text!r} is not")
        if len(p) > len(str(MAX_DEPTH)):  # int() of a 5,000-digit string raises; and it is too deep anyway
            shown = p if len(p) <= 12 else p[:12] + "..."
            raise ArgumentError(f"--depths: depth {shown} is deeper than the {MAX_DEPTH} layers this "
                                f"experiment trains at most", argument="depths")
        depths.append(int(p))
    return tuple(depths)


def run_name(kind: Kind | str, depth: int, batchnorm: bool) -> str:
    return f"{Kind(kind).value}-{depth}" + ("-bn" if batchnorm else "")


# ----------------------------------------------------------------------------- training


@dataclass(frozen=True)
class _Data:
    """On the device: the training and test subsets (uint8 images), the probe batch (normalised)."""

    train_x: Any
    train_y: Any
    test_x: Any
    test_y: Any
    probe_x: Any
    probe_y: Any


def prepare_data(config: DepthConfig, mnist: Any, device: str) -> _Data:
    """The seeded training subset and the first ``test_subset`` test digits, uint8 on the device
    (normalised batch by batch by ``train.batches.normalize``, as ``train`` does), and the probe
    batch for the gradient norms at initialisation, normalised."""
    import numpy as np
    import torch

    from ..core.errors import DataError
    from ..train.batches import normalize

    n_train, n_test = len(mnist.train_labels), len(mnist.test_labels)
    if config.train_subset > n_train:
        raise ArgumentError(f"--train-subset {config.train_subset} is larger than the {n_train} "
                            f"training digits of {mnist.source or 'the data'}")
    if config.test_subset > n_test:
        raise ArgumentError(f"--test-subset {config.test_subset} is larger than the {n_test} "
                            f"test digits of {mnist.source or 'the data'}")
    if n_train == 0 or n_test == 0:
        raise DataError(f"{mnist.source or 'the data'} has no digits")
    rng = np.random.default_rng(config.seed)
    idx = np.sort(rng.permutation(n_train)[: config.train_subset])

    def tensor(array: Any) -> Any:
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)

    train_x = tensor(mnist.train_images[idx])  # (N, 28, 28) uint8
    train_y = tensor(mnist.train_labels[idx])
    test_x = tensor(mnist.test_images[: config.test_subset])
    test_y = tensor(mnist.test_labels[: config.test_subset])
    probe = min(config.probe_size, config.train_subset)
    return _Data(train_x, train_y, test_x, test_y, normalize(train_x[:probe]), train_y[:probe])


def batch_order(config: DepthConfig) -> Any:
    """The training indices of every step, (steps, batch_size): seeded epochs of a random
    permutation, the same for every net (an epoch's incomplete last batch is dropped)."""
    import torch

    gen = torch.Generator().manual_seed(config.seed + 1)
    per_epoch = config.train_subset // config.batch_size
    epochs = -(-config.steps // per_epoch)
    perms = [torch.randperm(config.train_subset, generator=gen)[: per_epoch * config.batch_size]
             for _ in range(epochs)]
    return torch.cat(perms).view(-1, config.batch_size)[: config.steps]


def build_model(config: DepthConfig, kind: Kind, depth: int, batchnorm: bool) -> Any:
    """The net, its weights seeded by ``config.seed``: a plain and a residual net of the
    same arguments start from identical weights (their layers are created in the same
    order and the residual shortcut has no parameters)."""
    import torch

    from ..models.depth import PlainNet, ResNet

    torch.manual_seed(config.seed)
    cls = ResNet if kind is Kind.RESIDUAL else PlainNet
    return cls(depth, config.width, batchnorm, init=config.init, stem_stride=config.stem_stride)


def _lr_at(config: DepthConfig, step: int) -> float:
    """Linear warm-up over the first ``warmup`` fraction of the steps, then constant."""
    warm = config.warmup * config.steps
    return config.lr * min(1.0, (step + 1) / warm) if warm >= 1 else config.lr


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def train_one(config: DepthConfig, kind: Kind, depth: int, batchnorm: bool, data: _Data,
              order: Any, device: str) -> dict[str, Any]:
    """Train one net; return its record (plain numbers, JSON-ready)."""
    import torch

    from ..models.depth import count_parameters, weighted_layers
    from ..train.batches import normalize
    from ..train.optim import build_optimizer
    from ..train.step import forward_backward
    from . import gradnorm

    t0 = time.perf_counter()
    model = build_model(config, kind, depth, batchnorm).to(device)
    grad_init = [_finite_or_none(v) for v in gradnorm.at_init(model, data.probe_x, data.probe_y)]
    # classical momentum 0.9 for SGD (He et al.), Adam's default betas (0.9, 0.999); no weight decay
    opt = build_optimizer(config.optimizer, model.parameters(), lr=config.lr, momentum=0.9)

    losses, correct = [], []
    grad_steps: list[int] = []
    grad_train: list[list[float]] = []
    diverged_at: int | None = None
    model.train()
    t_train = time.perf_counter()
    for step in range(config.steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(config, step)
        idx = order[step]
        x, y = normalize(data.train_x[idx]), data.train_y[idx]  # (B, 1, 28, 28), (B,)
        opt.zero_grad(set_to_none=True)
        loss, logits = forward_backward(model, x, y)
        losses.append(loss)
        correct.append((logits.argmax(1) == y).float().mean())
        if step % config.grad_every == 0 or step == config.steps - 1:
            grad_steps.append(step)
            grad_train.append(gradnorm.current(model))  # syncs: a good place to check the loss
            if not math.isfinite(losses[-1].item()):
                diverged_at = step
                break
        opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    train_s = time.perf_counter() - t_train

    loss_curve = [float(v) for v in torch.stack(losses).cpu().tolist()]
    acc_curve = [float(v) for v in torch.stack(correct).cpu().tolist()]
    if diverged_at is not None:  # the first step whose loss was not finite (checks are sparse)
        diverged_at = next(i for i, v in enumerate(loss_curve) if not math.isfinite(v))
    test_loss, test_acc = evaluate(model, data.test_x, data.test_y)
    tail = max(1, len(loss_curve) // 10)
    return {
        "name": run_name(kind, depth, batchnorm),
        "kind": kind.value,
        "batchnorm": batchnorm,
        "depth": depth,
        "params": count_parameters(model),
        "layers": [name for name, _ in weighted_layers(model)],
        "steps_done": len(loss_curve),
        "diverged_at": diverged_at,
        "curve": {"loss": [_finite_or_none(round(v, 5)) for v in loss_curve],
                  "accuracy": [round(v, 4) for v in acc_curve]},
        "grad_norm_init": grad_init,
        "grad_norm_train": {"steps": grad_steps, "norms": [[_finite_or_none(v) for v in row]
                                                           for row in grad_train]},
        "final": {
            # the mean over the last 10% of the steps' batches (the training loss He et al. plot)
            "train_loss": _finite_or_none(sum(loss_curve[-tail:]) / tail),
            "train_accuracy": sum(acc_curve[-tail:]) / tail,
            "test_loss": _finite_or_none(test_loss),
            "test_accuracy": test_acc,
        },
        "train_time_s": round(train_s, 3),
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }


def evaluate(model: Any, x: Any, y: Any, batch: int = 250) -> tuple[float, float]:
    """Mean cross-entropy and accuracy in eval mode (BatchNorm uses its running statistics), by
    the one evaluation pass of ``train.infer.evaluate``."""
    from ..train.infer import evaluate as evaluate_pass

    loss_sum, confusion = evaluate_pass(model, x, y, batch_size=batch)
    return float(loss_sum) / len(y), int(confusion.trace()) / len(y)


def plan(config: DepthConfig) -> list[tuple[Kind, int, bool]]:
    """The nets in training order: without BatchNorm first, plain before residual, shallow first."""
    return [(kind, depth, bn) for bn in config.batchnorm.settings() for kind in Kind
            for depth in sorted(config.depths)]


def run(config: DepthConfig, mnist: Any,
        progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train every net of ``plan(config)``; return the results (the content of results.json).

    ``config`` must be valid (``DepthConfig.validate``; ``depth_run.run_experiment`` checks it
    before it claims the folder and reads the data)."""
    import torch

    device = resolve(config.device)
    threads_before = torch.get_num_threads()
    flush_before = None
    if device == "cpu":
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        # Deep plain nets push gradients into float32's subnormal range (|x| < 1.2e-38),
        # where CPU arithmetic is slower (plain-56, 200 steps: 14.7 s of CPU without,
        # 12.7 s with, the same losses); flushing them to 0 changes nothing that matters.
        flush_before = torch.set_flush_denormal(True)
    try:
        started = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        data = prepare_data(config, mnist, device)
        order = batch_order(config).to(device)  # indexed every step: no copy per step
        runs = []
        todo = plan(config)
        for i, (kind, depth, bn) in enumerate(todo):
            record = train_one(config, kind, depth, bn, data, order, device)
            runs.append(record)
            if progress is not None:
                progress(i + 1, len(todo), record)
        total = time.perf_counter() - t0
    finally:
        if device == "cpu":
            torch.set_num_threads(threads_before)
            if flush_before is not None:
                torch.set_flush_denormal(False)
    return {
        "schema": SCHEMA,
        "config": config.to_dict(),
        "environment": {
            "device": device if device == "cpu" else f"cuda ({torch.cuda.get_device_name()})",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads() if config.threads is None else config.threads,
            "data": getattr(mnist, "source", ""),
            "started": started.isoformat(timespec="seconds"),
        },
        "runs": runs,
        "wall_time_s": round(total, 2),
    }


# ----------------------------------------------------------------------------- summaries


def grad_ratio(norms: Sequence[float | None]) -> float | None:
    """The first conv's gradient norm over the last conv's (the Linear head excluded):
    how much smaller the gradient is at the input side than at the output side."""
    first, last = norms[0], norms[-2]
    if first is None or last is None or not last:
        return None
    return first / last


def find(results: dict[str, Any], kind: str, depth: int, batchnorm: bool) -> dict[str, Any] | None:
    for r in results["runs"]:
        if r["kind"] == kind and r["depth"] == depth and r["batchnorm"] == batchnorm:
            return r
    return None


def findings(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The two claims, checked on these results (one entry per claim and BatchNorm setting).

    ``degradation``: the deepest plain net's final training loss is above the shallowest
    plain net's, while the deepest residual net's is not above the shallowest residual
    net's. ``vanishing``: in the deepest plain net, the first conv's gradient norm at
    initialisation is at least 1000x (3 orders of magnitude) below the last conv's.
    """
    out = []
    depths = sorted({r["depth"] for r in results["runs"]})
    if len(depths) < 1:
        return out
    lo, hi = depths[0], depths[-1]
    for bn in sorted({r["batchnorm"] for r in results["runs"]}):
        p_lo, p_hi = find(results, "plain", lo, bn), find(results, "plain", hi, bn)
        r_lo, r_hi = find(results, "residual", lo, bn), find(results, "residual", hi, bn)
        if len(depths) > 1 and None not in (p_lo, p_hi, r_lo, r_hi):
            losses = [_loss_or_inf(x) for x in (p_lo, p_hi, r_lo, r_hi)]
            out.append({
                "claim": "degradation", "batchnorm": bn, "shallow": lo, "deep": hi,
                "plain_shallow": losses[0], "plain_deep": losses[1],
                "residual_shallow": losses[2], "residual_deep": losses[3],
                "holds": losses[1] > losses[0] and losses[3] <= losses[2],
            })
        if p_hi is not None:
            ratio = grad_ratio(p_hi["grad_norm_init"])
            out.append({
                "claim": "vanishing", "batchnorm": bn, "deep": hi, "plain_ratio": ratio,
                "residual_ratio": grad_ratio(r_hi["grad_norm_init"]) if r_hi else None,
                "holds": ratio is not None and ratio <= 1e-3,
            })
    return out


def _loss_or_inf(record: dict[str, Any]) -> float:
    v = record["final"]["train_loss"]
    return math.inf if v is None else v
