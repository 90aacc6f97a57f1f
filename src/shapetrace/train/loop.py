"""The training loop: the seed model on MNIST, fast and safe to interrupt.

* The whole dataset sits on the device as uint8; batches are cut by indexing a per-epoch
  permutation (``batches.py``), shifted and normalised on the fly.
* Recipe: AdamW (or SGD with Nesterov momentum), one-cycle or cosine schedule, label
  smoothing, random shifts; all in ``TrainConfig``.
* Each epoch: evaluation on the test set, then (rank 0 only) an atomic checkpoint with
  config, model, optimizer, scheduler and RNG state, ``log.csv``, ``metrics.json``,
  ``curves.png`` and ``confusion.png``. At the end: ``model.safetensors``.
* ``resume=True`` continues from the last checkpoint; the random stream of each epoch is a
  function of (seed, epoch), so the resumed run computes exactly what the uninterrupted
  run would have computed.
* Under torchrun each rank trains on its own shard of every global batch, evaluates its shard
  of the test set, and gradients and sums are folded in rank order (``distributed``): N
  processes compute bit for bit what one process with ``--shards N`` computes.
* The step's forward/backward is ``step.forward_backward``, the evaluation ``infer.evaluate``
  (both shared with ``experiments/depth``); resuming is ``checkpoint.load_for_resume`` and
  ``Checkpoint.restore``; the output folder is ``run_folder``'s.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..core.errors import ArgumentError, ShapetraceError
from .. import devices
from ..data.mnist import MNIST, PIXEL_MEAN, PIXEL_STD, load_source
from . import distributed, faults, run_folder
from ..atomic import atomic_write_text, remove_stale_temps
from .batches import Split, draw_offsets, epoch_generator, normalize, shard_of_batch, shift_by, to_device
from .checkpoint import (CHECKPOINT_NAME, HISTORY_FIELDS, WEIGHTS_NAME, Checkpoint, export_weights,
                         load_for_resume, save_checkpoint)
from .config import Device, Schedule, TrainConfig
from .infer import evaluate, summarize
from .optim import build_optimizer
from .step import forward_backward

METRICS_NAME = "metrics.json"
LOG_NAME = "log.csv"
CURVES_NAME = "curves.png"
CONFUSION_NAME = "confusion.png"
LOG_FIELDS = HISTORY_FIELDS
# Every file a run writes, the weights first: ``--overwrite`` deletes them in this order.
OUTPUTS = (WEIGHTS_NAME, CHECKPOINT_NAME, METRICS_NAME, LOG_NAME, CURVES_NAME, CONFUSION_NAME)
RUN_KIND = "train"


class TrainingDiverged(ShapetraceError):
    """The training loss stopped being finite (a learning rate too large for the recipe)."""

    exit_code = 1

# ----------------------------------------------------------------------------- setup helpers

def pick_device(choice: Device, dinfo: distributed.Dist) -> torch.device:
    if devices.resolve(choice) == "cuda":
        index = dinfo.local_rank % max(1, torch.cuda.device_count())
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


def prepare_out(out: Path, *, resume: bool, overwrite: bool) -> run_folder.RunFolder:
    """Check and lock the output folder before any work (``run_folder.claim``): a run already
    there is continued (``resume``), replaced (``overwrite``) or refused; a user's files are refused."""
    return run_folder.claim(out, RUN_KIND, OUTPUTS, resume=resume, overwrite=overwrite,
                            run_file=CHECKPOINT_NAME)


def load_data(cfg: TrainConfig, *, download: bool = True) -> MNIST:
    mnist = load_source(cfg.data, cfg.sample, download=download)
    if cfg.train_subset or cfg.test_subset:
        n, m = cfg.train_subset, cfg.test_subset
        mnist = MNIST(mnist.train_images[:n], mnist.train_labels[:n], mnist.test_images[:m],
                      mnist.test_labels[:m], source=mnist.source)
    return mnist


class LRFactor:
    """Learning-rate factor per step for ``LambdaLR``: linear warm-up then cosine decay to 0
    (``cosine``), or 1 throughout (``constant``). A callable object, so that ``LambdaLR``
    saves its fields (plain numbers) in ``state_dict``."""

    def __init__(self, kind: str, warmup_steps: int, total_steps: int) -> None:
        self.kind, self.warmup_steps, self.total_steps = kind, warmup_steps, total_steps

    def __call__(self, step: int) -> float:
        if self.kind == "constant":
            return 1.0
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    # No weight decay on biases (1-D parameters), as is usual (e.g. nanoGPT's configure_optimizers).
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return build_optimizer(cfg.optimizer, groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)


def make_scheduler(cfg: TrainConfig, opt: torch.optim.Optimizer, total_steps: int):
    if cfg.schedule == Schedule.onecycle:
        # https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.OneCycleLR.html
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=total_steps, pct_start=max(cfg.warmup, 1e-6),
            anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
            max_momentum=max(cfg.momentum, 0.85), div_factor=25.0, final_div_factor=1e4)
    warmup = int(round(cfg.warmup * total_steps)) if cfg.schedule == Schedule.cosine else 0
    return torch.optim.lr_scheduler.LambdaLR(opt, LRFactor(cfg.schedule.value, warmup, total_steps))


# ----------------------------------------------------------------------------- progress

class _Progress:
    """A rich progress bar for one epoch (loss, accuracy, images/s), on stderr; silent when off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress = None

    def start(self, epoch: int, epochs: int, steps: int) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        console = Console(stderr=True)
        if not console.is_terminal:  # a log file or a pipe gets the epoch lines only
            self.enabled = False
            return
        self._progress = Progress(
            TextColumn(f"epoch {epoch}/{epochs}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:6.2%}  {task.fields[ips]:,.0f} img/s"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task("train", total=steps, loss=float("nan"), acc=0.0, ips=0.0)

    def update(self, completed: int, loss: float, acc: float, ips: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, loss=loss, acc=acc, ips=ips)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


# ----------------------------------------------------------------------------- the run

@dataclass
class RunResult:
    out: Path
    history: list[dict[str, Any]]
    final: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)


def run(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, given: set[str] | None = None,
        progress: bool = True, download: bool = True,
        echo: Callable[[str], None] | None = None) -> RunResult:
    """Train (or continue training) as ``cfg`` says; returns the history and final test metrics."""
    dinfo = distributed.from_env()
    echo = echo or print
    say = echo if dinfo.is_main else (lambda _msg: None)
    out = Path(cfg.out)
    # only rank 0 writes, so only rank 0 claims the folder (the others would find it locked)
    folder = prepare_out(out, resume=resume, overwrite=overwrite) if dinfo.is_main else None
    try:
        checkpoint = None
        if resume:
            checkpoint, cfg = load_for_resume(out / CHECKPOINT_NAME, cfg, set(given or ()))
        cfg = cfg.replace(shards=cfg.shards or dinfo.world_size)
        if dinfo.enabled and cfg.shards != dinfo.world_size:
            raise ArgumentError(f"--shards {cfg.shards} under torchrun must equal the {dinfo.world_size} "
                                f"processes (each process computes one shard of every batch)", argument="shards")
        threads = cfg.threads or max(1, devices.max_threads() // dinfo.local_world_size)
        device = pick_device(cfg.device, dinfo)
        mnist = load_data(cfg, download=download)
        n_train = len(mnist.train_labels)
        if n_train < cfg.batch_size:
            raise ArgumentError(f"--batch-size {cfg.batch_size} is larger than the {n_train} training digits")
        if folder is not None:
            folder.start()
    except BaseException:
        if folder is not None:  # a run that failed before it started leaves the folder as it was
            folder.abandon()
        raise
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        dinfo = distributed.init(dinfo, device)
        try:
            return _run(cfg, dinfo, device, mnist, checkpoint, progress, say, folder.run_id if folder else "")
        finally:
            distributed.shutdown(dinfo)
    finally:
        torch.set_num_threads(threads_before)
        if folder is not None:
            folder.release()


def _run(cfg: TrainConfig, dinfo: distributed.Dist, device: torch.device, mnist: MNIST,
         checkpoint: Checkpoint | None, progress: bool, say: Callable[[str], None], run_id: str) -> RunResult:
    from ..models.seed import CNNWithResidual

    out = Path(cfg.out)
    if dinfo.is_main:
        # left by a process killed while writing any of them
        remove_stale_temps(out, *OUTPUTS)
    train = to_device(mnist.train_images, mnist.train_labels, device)
    test = to_device(mnist.test_images, mnist.test_labels, device)
    steps = len(train) // cfg.batch_size  # the last partial batch of each epoch is dropped

    torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every run
    model = CNNWithResidual(batchnorm=cfg.batchnorm).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    sched = make_scheduler(cfg, opt, cfg.epochs * steps)
    history: list[dict[str, Any]] = []
    last_eval: dict[str, Any] | None = None
    start_epoch = 1
    if checkpoint is not None:
        checkpoint.restore(model, opt, sched, device)
        history = list(checkpoint.history)  # a copy: the loop appends to it
        last_eval = checkpoint.last_eval
        start_epoch = checkpoint.epoch + 1
        if start_epoch <= cfg.epochs:
            say(f"resuming {out} after epoch {start_epoch - 1}/{cfg.epochs}")
        else:
            say(f"{out}: the run already finished its {cfg.epochs} epochs; writing its outputs again")

    step_model: torch.nn.Module = model
    if dinfo.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        step_model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
        step_model.register_comm_hook(None, distributed.ordered_mean_hook)
    if cfg.compile:
        step_model = torch.compile(step_model)

    if start_epoch == 1:
        say(f"training CNNWithResidual on {len(train)} digits ({mnist.source}), testing on {len(test)}; "
            f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} of {steps} steps, batch {cfg.batch_size}"
            + (f" over {dinfo.world_size} processes ({dinfo.backend})" if dinfo.enabled else "")
            + (f" in {cfg.shards} shards" if cfg.shards > 1 and not dinfo.enabled else "")
            + f", {device.type}, {torch.get_num_threads()} threads")
    bar = _Progress(progress and dinfo.is_main)
    run_start = time.perf_counter()
    elapsed_before = float(history[-1]["elapsed_s"]) if history else 0.0
    mine = _my_shards(cfg, dinfo)
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        parts = _train_epoch(cfg, dinfo, device, step_model, model, opt, sched, train, steps, epoch, mine, bar)
        _sync(device)
        train_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        distributed.broadcast_buffers(model, dinfo)  # every rank evaluates with rank 0's BatchNorm statistics
        confusions = []
        for k, s in enumerate(mine):  # each shard's slice of the test set, as each process evaluates its own
            test_loss, confusion = evaluate(model, test.images[s::cfg.shards], test.labels[s::cfg.shards],
                                            batch_size=cfg.eval_batch_size, bf16=cfg.bf16,
                                            channels_last=cfg.channels_last)
            parts[k, 3] = test_loss
            confusions.append(confusion)
        sums = distributed.ordered_sum(parts, dinfo)
        confusion = distributed.ordered_sum(torch.stack(confusions), dinfo)
        _sync(device)
        eval_s = time.perf_counter() - t1
        loss_sum_v, correct_v, seen_v, test_loss_v = (float(v) for v in sums.cpu())
        if not math.isfinite(loss_sum_v):
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the training loss is {loss_sum_v} (--lr {cfg.lr:g} is too "
                f"large for this recipe; try a smaller one); nothing of epoch {epoch} was saved"
                + (f", {out / CHECKPOINT_NAME} still holds epoch {epoch - 1}" if epoch > 1 else ""))
        last_eval = summarize(test_loss_v, confusion.cpu().numpy())
        entry = {
            "epoch": epoch,
            "lr": float(opt.param_groups[0]["lr"]),
            "train_loss": loss_sum_v / seen_v,
            "train_acc": correct_v / seen_v,
            "test_loss": last_eval["loss"],
            "test_acc": last_eval["accuracy"],
            "train_s": round(train_s, 3),
            "eval_s": round(eval_s, 3),
            "images_per_s": round(seen_v / train_s, 1),
            "elapsed_s": round(elapsed_before + time.perf_counter() - run_start, 3),
        }
        history.append(entry)
        say(f"epoch {epoch}/{cfg.epochs}  train loss {entry['train_loss']:.4f} acc {entry['train_acc']:.2%}  "
            f"test loss {entry['test_loss']:.4f} acc {entry['test_acc']:.2%}  "
            f"{entry['images_per_s']:,.0f} img/s  {train_s:.1f}+{eval_s:.1f} s")
        if dinfo.is_main:
            state = {
                "config": cfg.to_dict(), "epoch": epoch, "model_state": model.state_dict(),
                "optimizer_state": opt.state_dict(), "scheduler_state": sched.state_dict(),
                "history": history, "last_eval": last_eval, "world_size": dinfo.world_size,
                "run_id": run_id,
                "rng": {"torch": torch.get_rng_state(),
                        "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []},
            }
            save_checkpoint(out / CHECKPOINT_NAME, state, after_first_chunk=faults.checkpoint_hook(epoch))
            _write_logs(out, cfg, history, last_eval, dinfo, device, done=False, run_id=run_id)

    final = last_eval or {}
    metrics: dict[str, Any] = {}
    if dinfo.is_main:
        export_weights(out / WEIGHTS_NAME, model.state_dict(),
                       {"test_accuracy": final.get("accuracy"), "epochs": cfg.epochs, "run_id": run_id,
                        "pixel_mean": PIXEL_MEAN, "pixel_std": PIXEL_STD})
        # the last epoch wrote the log and plots already, unless the run was finished before
        metrics = _write_logs(out, cfg, history, final, dinfo, device, done=True,
                              log_and_plots=start_epoch > cfg.epochs, run_id=run_id)
        say(f"test accuracy {final['accuracy']:.2%} ({final['correct']}/{final['count']}); "
            f"weights {out / WEIGHTS_NAME}, metrics {out / METRICS_NAME}")
    return RunResult(out, history, final, metrics)


def _my_shards(cfg: TrainConfig, dinfo: distributed.Dist) -> list[int]:
    """The shards of every batch this process computes: its own under torchrun, all of them alone."""
    return [dinfo.rank] if dinfo.enabled else list(range(cfg.shards))


def _train_epoch(cfg: TrainConfig, dinfo: distributed.Dist, device: torch.device, step_model: torch.nn.Module,
                 model: torch.nn.Module, opt: torch.optim.Optimizer, sched, train: Split, steps: int, epoch: int,
                 mine: list[int], bar: _Progress) -> torch.Tensor:
    """One epoch; returns per shard of ``mine`` the row (loss sum, correct, seen, 0) in float64.

    Each step: the global batch's order and shifts are drawn once; shard s is every
    ``shards``-th digit from s; each shard's mean loss is back-propagated on its own and the
    gradients are folded in shard order and divided by the shard count (by autograd's
    accumulation here, by ``distributed.ordered_mean_hook`` across processes). BatchNorm's
    running statistics are shard 0's, as DDP broadcasts rank 0's before every forward."""
    step_model.train()
    g = epoch_generator(cfg.seed, epoch, device)
    perm = torch.randperm(len(train), generator=g, device=device)
    parts = torch.zeros((len(mine), 4), dtype=torch.float64, device=device)
    per_shard = cfg.batch_size // cfg.shards
    buffers = list(model.buffers()) if len(mine) > 1 else []
    bar.start(epoch, cfg.epochs, steps)
    t0 = time.perf_counter()
    every = max(1, min(20, steps // 50 or 1))  # read the running numbers now and then (a device sync)
    try:
        for step in range(steps):
            faults.at_step(epoch, step + 1, dinfo.rank)
            offsets = draw_offsets(cfg.shift, cfg.batch_size, g) if cfg.shift > 0 else None
            opt.zero_grad(set_to_none=True)
            before = [b.clone() for b in buffers]
            after_first: list[torch.Tensor] = []
            for k, s in enumerate(mine):
                if k > 0:
                    for b, v in zip(buffers, before):
                        b.copy_(v)
                idx = shard_of_batch(perm, step, cfg.batch_size, s, cfg.shards)
                x = train.images[idx]
                if offsets is not None:
                    x = shift_by(x, cfg.shift, offsets[:, s::cfg.shards])
                x = normalize(x, cfg.channels_last)  # (b, 1, 28, 28)
                y = train.labels[idx]
                # accumulates: shard 0's gradient, + shard 1's, + ...
                loss, logits = forward_backward(step_model, x, y, label_smoothing=cfg.label_smoothing,
                                                bf16=cfg.bf16)
                if k == 0:
                    after_first = [b.clone() for b in buffers]
                parts[k, 0] += loss.double() * y.shape[0]
                parts[k, 1] += (logits.argmax(1) == y).sum()
            for b, v in zip(buffers, after_first):
                b.copy_(v)
            if len(mine) > 1:
                for p in model.parameters():
                    if p.grad is not None:
                        p.grad.div_(len(mine))
            opt.step()
            sched.step()
            if bar.enabled and ((step + 1) % every == 0 or step + 1 == steps):
                n = (step + 1) * per_shard * len(mine)
                bar.update(step + 1, float(parts[:, 0].sum()) / n, float(parts[:, 1].sum()) / n,
                           n * dinfo.world_size / (time.perf_counter() - t0))
    finally:
        bar.stop()
    parts[:, 2] = steps * per_shard
    return parts


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _write_logs(out: Path, cfg: TrainConfig, history: list[dict[str, Any]], last_eval: dict[str, Any],
                dinfo: distributed.Dist, device: torch.device, *, done: bool,
                log_and_plots: bool = True, run_id: str = "") -> dict[str, Any]:
    if log_and_plots:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        atomic_write_text(out / LOG_NAME, buf.getvalue())
    train_s = sum(h["train_s"] for h in history)
    seen = sum(h["images_per_s"] * h["train_s"] for h in history)
    metrics = {
        "done": done,
        "run_id": run_id,  # the same in the checkpoint and the weights' metadata
        "epochs_done": len(history),
        "config": cfg.to_dict(),
        "test": last_eval,
        "best_test_acc": max(h["test_acc"] for h in history),
        "train_images_per_s": round(seen / train_s, 1) if train_s else None,
        "train_s": round(train_s, 3),
        "elapsed_s": history[-1]["elapsed_s"],
        "history": history,
        "world_size": dinfo.world_size,
        "backend": dinfo.backend or None,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "files": {"checkpoint": CHECKPOINT_NAME, "weights": WEIGHTS_NAME if done else None,
                  "log": LOG_NAME, "curves": CURVES_NAME, "confusion": CONFUSION_NAME},
    }
    atomic_write_text(out / METRICS_NAME, json.dumps(metrics, indent=2) + "\n")
    if log_and_plots:
        from .plots import plot_confusion, plot_curves

        plot_curves(out / CURVES_NAME, history)
        plot_confusion(out / CONFUSION_NAME, np.asarray(last_eval["confusion"]))
    return metrics
