"""``shapetrace train``, ``shapetrace eval`` and ``shapetrace predict``: the seed's model on MNIST.

torch is imported inside the commands only, so that ``shapetrace layer`` stays fast.
Every recipe option defaults to None ("not given"): the preset fills it, and ``--resume``
can tell an option the user changed from one left alone.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..devices import Device
from ..train.config import SAMPLE_XOR_DATA, Optimizer, Schedule
from ._common import guard

_DATA_HELP = "Folder with the four MNIST files (default: $SHAPETRACE_DATA, then the user cache dir)."
_MODEL_HELP = "A run folder (its model.safetensors or checkpoint.pt), a .safetensors file or a checkpoint."


@guard
def train_command(
    data: Optional[Path] = typer.Option(None, "--data", help=_DATA_HELP),
    sample: bool = typer.Option(False, "--sample", help="Train on the bundled 1,000-digit sample (offline demo)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/mnist)."),
    preset: str = typer.Option("default", "--preset", help="default (4 epochs, about 4.5 min on 2 CPU cores), long (8 epochs) or sprint (one pass over 40,000 digits at batch 64: 99.2% in about 40 s)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs (default: 4; long: 8; with --sample: 12)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Global batch size (default: 256; with --sample: 64)."),
    optimizer: Optional[Optimizer] = typer.Option(None, "--optimizer", help="adamw, adam or sgd (Nesterov)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (default: adamw 2e-3, sgd 0.05)."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay", help="Decoupled weight decay (default: adamw 0.05, sgd 5e-4)."),
    momentum: Optional[float] = typer.Option(None, "--momentum", help="SGD momentum / Adam beta1 (default: 0.9)."),
    schedule: Optional[Schedule] = typer.Option(None, "--schedule", help="onecycle, cosine or constant."),
    warmup: Optional[float] = typer.Option(None, "--warmup", help="Fraction of steps warming up (default: 0.2)."),
    label_smoothing: Optional[float] = typer.Option(None, "--label-smoothing", help="Label smoothing (default: 0.1)."),
    shift: Optional[int] = typer.Option(None, "--shift", help="Random shift of up to N pixels; 0 = off (default: 2)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of weights, order and shifts (default: 0)."),
    batchnorm: Optional[bool] = typer.Option(None, "--batchnorm/--no-batchnorm",
                                             help="BatchNorm after each conv of the blocks (not the seed's)."),
    train_subset: Optional[int] = typer.Option(None, "--train-subset", help="Use the first N training digits."),
    test_subset: Optional[int] = typer.Option(None, "--test-subset", help="Evaluate on the first N test digits."),
    eval_batch_size: Optional[int] = typer.Option(None, "--eval-batch-size", help="Evaluation batch size (default: 1000)."),
    device: Optional[Device] = typer.Option(None, "--device", help="auto, cpu or cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads, 1 to the cores available (default: cores / local processes)."),
    shards: Optional[int] = typer.Option(None, "--shards", help="Split each batch into N shards whose gradients are averaged in a fixed order, as N torchrun processes do: one process with --shards N computes the same bits (default: the number of processes)."),
    bf16: Optional[bool] = typer.Option(None, "--bf16/--no-bf16", help="bfloat16 autocast (GPU; AVX512-BF16 CPU)."),
    channels_last: Optional[bool] = typer.Option(None, "--channels-last/--no-channels-last",
                                                 help="NHWC memory format (default: on)."),
    compile_: Optional[bool] = typer.Option(None, "--compile/--no-compile", help="torch.compile the model."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start over even if --out holds a run."),
    no_download: bool = typer.Option(False, "--no-download", help="Never download MNIST."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train the seed's CNNWithResidual on MNIST (checkpoint each epoch, --resume, torchrun DDP)."""
    from ..train.config import TrainConfig
    from ..train.loop import run

    options = {
        "data": str(data) if data is not None else None, "out": str(out) if out is not None else None,
        "epochs": epochs, "batch_size": batch_size,
        "optimizer": optimizer.value if optimizer else None, "lr": lr, "weight_decay": weight_decay,
        "momentum": momentum, "schedule": schedule.value if schedule else None, "warmup": warmup,
        "label_smoothing": label_smoothing, "shift": shift, "seed": seed, "batchnorm": batchnorm,
        "train_subset": train_subset, "test_subset": test_subset, "eval_batch_size": eval_batch_size,
        "device": device.value if device else None, "threads": threads, "shards": shards, "bf16": bf16,
        "channels_last": channels_last, "compile": compile_, "sample": sample or None,
    }
    given = {k for k, v in options.items() if v is not None}
    if preset != "default":
        given.add("preset")
    cfg = TrainConfig.from_preset(preset, **options)
    echo = StdoutEcho()
    try:
        run(cfg, resume=resume, overwrite=overwrite, given=given, progress=not quiet, download=not no_download,
            echo=echo)
    except KeyboardInterrupt:
        raise typer.Exit(_interrupted(Path(cfg.out))) from None


class StdoutEcho:
    """``typer.echo`` that survives a closed stdout (``shapetrace train | head -1``): the first
    BrokenPipeError points stdout at /dev/null (so Python's exit flush cannot fail either), says
    so once on stderr, and the run goes on training and saving."""

    def __init__(self) -> None:
        self.closed = False

    def __call__(self, message: str) -> None:
        if self.closed:
            return
        try:
            typer.echo(message)
            sys.stdout.flush()
        except BrokenPipeError:
            self.closed = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            print("shapetrace train: stdout was closed; training goes on and saves its outputs, "
                  "without printing", file=sys.stderr)


def _interrupted(out: Path) -> int:
    """Say on stderr how to continue an interrupted run; the shell's code for SIGINT (128 + 2)."""
    from ..train.checkpoint import CHECKPOINT_NAME

    if (out / CHECKPOINT_NAME).is_file():
        print(f"interrupted; the last finished epoch is saved in {out / CHECKPOINT_NAME}: continue with "
              f"`shapetrace train --out {out} --resume`", file=sys.stderr)
    else:
        print(f"interrupted before the first epoch finished; nothing to resume: start again with "
              f"`shapetrace train --out {out}` (add --overwrite if it refuses)", file=sys.stderr)
    return 130


def _eval_data(data: Optional[Path], sample: bool, test_subset: Optional[int], no_download: bool):
    """(images, labels, description) of the digits to evaluate on."""
    import numpy as np

    from ..core.errors import ArgumentError
    from ..data.mnist import load_mnist, sample_digits

    if sample and data is not None:
        raise ArgumentError(SAMPLE_XOR_DATA)
    if sample:
        images, labels = sample_digits()
        source = "the bundled sample (1,000 MNIST test digits)"
    else:
        mnist = load_mnist(data, download=not no_download)
        images, labels = mnist.test_images, mnist.test_labels
        source = f"the MNIST test set ({mnist.source})"
    if test_subset is not None:
        if test_subset < 1:
            raise ArgumentError(f"--test-subset must be at least 1, got {test_subset}")
        images, labels = images[:test_subset], labels[:test_subset]
    return np.ascontiguousarray(images), np.ascontiguousarray(labels), source


@guard
def eval_command(
    model: Path = typer.Option(Path("runs/mnist"), "--model", "-m", help=_MODEL_HELP),
    data: Optional[Path] = typer.Option(None, "--data", help=_DATA_HELP),
    sample: bool = typer.Option(False, "--sample", help="Evaluate on the bundled 1,000 test digits."),
    test_subset: Optional[int] = typer.Option(None, "--test-subset", help="Only the first N test digits."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, help="Evaluation batch size."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_download: bool = typer.Option(False, "--no-download", help="Never download MNIST."),
) -> None:
    """Accuracy, per-class accuracy and the confusion matrix of trained weights on the MNIST test set."""
    import torch

    from ..train.infer import evaluate, load_model, summarize
    from ..train.batches import to_device

    net, file = load_model(model)  # a wrong model path fails before any data is read or fetched
    images, labels, source = _eval_data(data, sample, test_subset, no_download)
    split = to_device(images, labels, torch.device("cpu"))
    loss_sum, confusion = evaluate(net, split.images, split.labels, batch_size=batch_size)
    result = summarize(float(loss_sum), confusion.numpy())
    result = {"weights": str(file), "data": source, **result}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(_render_eval(result))


def _render_eval(result: dict) -> str:
    import io

    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = Console(width=100, file=buf, color_system=None)
    console.print(f"weights: {result['weights']}")
    console.print(f"data:    {result['data']}")
    console.print(f"accuracy {result['accuracy']:.2%} ({result['correct']}/{result['count']}), "
                  f"mean loss {result['loss']:.4f}")
    per = Table(title="per-class accuracy", show_edge=False)
    per.add_column("digit", justify="right")
    per.add_column("count", justify="right")
    per.add_column("accuracy", justify="right")
    for d, (acc, n) in enumerate(zip(result["per_class_accuracy"], result["per_class_count"])):
        per.add_row(str(d), str(n), "-" if acc is None else f"{acc:.2%}")
    console.print(per)
    conf = Table(title="confusion matrix (rows: true digit, columns: predicted)", show_edge=False)
    conf.add_column("", justify="right")
    for d in range(len(result["confusion"])):
        conf.add_column(str(d), justify="right")
    for d, row in enumerate(result["confusion"]):
        conf.add_row(str(d), *[str(v) if v else "." for v in row])
    console.print(conf)
    return buf.getvalue().rstrip()


@guard
def predict_command(
    images: List[Path] = typer.Argument(..., help="PNG or JPEG images of single digits, any size."),
    model: Path = typer.Option(Path("runs/mnist"), "--model", "-m", help=_MODEL_HELP),
    top: int = typer.Option(3, "--top", min=1, max=10, help="How many classes to print."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """The top classes of each digit image, prepared as MNIST digits were (20x20 box, centred by mass)."""
    import numpy as np

    from ..data.images import load_digit
    from ..train.infer import load_model, predict_proba

    prepared = np.stack([load_digit(p) for p in images])  # errors name the file before any model work
    net, _file = load_model(model)
    probs = predict_proba(net, prepared)
    results = []
    for path, p in zip(images, probs):
        order = np.argsort(-p)[:top]
        results.append({"image": str(path), "top": [{"digit": int(d), "probability": float(p[d])} for d in order]})
    if as_json:
        typer.echo(json.dumps(results, indent=2))
        return
    width = max(len(r["image"]) for r in results)
    for r in results:
        ranked = "  ".join(f"{t['digit']} ({t['probability']:6.2%})" for t in r["top"])
        typer.echo(f"{r['image']:<{width}}  {ranked}")
