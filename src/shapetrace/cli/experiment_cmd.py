"""``shapetrace experiment depth --depths 8,20,56 --data DIR --out DIR``: plain vs residual
networks of growing depth (issue 5). torch is imported inside the command."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ..devices import Device, check_threads
from ._common import guard
from ..experiments.depth import PRESETS, BatchNormChoice, Preset, parse_depths
from ..models.depth_init import Init
from ..train.config import Optimizer

experiment_app = typer.Typer(
    name="experiment",
    help="Experiments that show with numbers why the seed's design choices matter.",
    no_args_is_help=True,
)


@experiment_app.command("depth")
@guard
def depth_command(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for results.json, report.md and the plots."),
    depths: Optional[str] = typer.Option(None, "--depths",
                                         help="Depths 6n+2 up to 1202, comma-separated (default: 8,20,56)."),
    data: Optional[Path] = typer.Option(None, "--data",
                                        help="MNIST folder (else $SHAPETRACE_DATA, else the cache)."),
    sample: bool = typer.Option(False, "--sample",
                                help="Use the bundled 1,000-digit sample (offline, quick)."),
    download: bool = typer.Option(True, "--download/--no-download", help="Download MNIST if it is missing."),
    preset: Preset = typer.Option(Preset.CPU, "--preset", help="Defaults for the options below."),
    width: Optional[int] = typer.Option(None, "--width",
                                        help="Channels of the first stage (default: cpu 8, gpu 16)."),
    stem_stride: Optional[int] = typer.Option(None, "--stem-stride", help="1 or 2 (default: cpu 2, gpu 1)."),
    bn: BatchNormChoice = typer.Option(BatchNormChoice.BOTH, "--bn",
                                       help="Train with/without BatchNorm or both."),
    init: Init = typer.Option(Init.DEFAULT, "--init", help="Weight init: PyTorch's default or He's."),
    optimizer: Optimizer = typer.Option(Optimizer.adam, "--optimizer",
                                        help="adam, adamw (no weight decay: as adam) or sgd (momentum 0.9)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: 1e-3)."),
    warmup: Optional[float] = typer.Option(None, "--warmup",
                                           help="Warm-up fraction of the steps (default: 0.1)."),
    steps: Optional[int] = typer.Option(None, "--steps",
                                        help="Training steps per net (default: cpu 200, gpu 3000)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size",
                                             help="Digits per step (default: cpu 32, gpu 128)."),
    train_subset: Optional[int] = typer.Option(None, "--train-subset",
                                               help="Training digits (default: cpu 10000, gpu 60000)."),
    test_subset: Optional[int] = typer.Option(None, "--test-subset",
                                              help="Test digits (default: cpu 2000, gpu 10000)."),
    grad_every: Optional[int] = typer.Option(None, "--grad-every",
                                             help="Record gradient norms every N steps (default: cpu 10, gpu 50)."),
    probe_size: Optional[int] = typer.Option(None, "--probe-size",
                                             help="Training digits for the gradient norms at initialisation (default: 256)."),
    seed: Optional[int] = typer.Option(None, "--seed",
                                       help="Seed of the subset, the batches and the weights (default: 0)."),
    device: Optional[Device] = typer.Option(None, "--device",
                                                  help="Where to train: auto = cuda if available (default: cpu preset cpu, gpu preset auto)."),
    threads: Optional[int] = typer.Option(None, "--threads",
                                          help="CPU threads, 1 to the cores available; 0 = torch's default (default: cpu preset 1, gpu preset 0)."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace the results of an earlier `experiment depth` run in --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Train plain and residual nets of each depth (with and without BatchNorm) under the same
    budget; write results.json, report.md, loss_curves.png, grad_norms_init.png, grad_norms_train.png."""
    from ..core.errors import ArgumentError

    overrides: dict[str, Any] = {
        "width": width, "stem_stride": stem_stride, "lr": lr, "warmup": warmup, "steps": steps,
        "batch_size": batch_size, "train_subset": train_subset, "test_subset": test_subset,
        "grad_every": grad_every, "probe_size": probe_size, "seed": seed, "device": device,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if depths is not None:
        overrides["depths"] = parse_depths(depths)
    if threads is not None:
        if threads != 0:
            check_threads(threads)
        overrides["threads"] = threads or None
    if sample and data is not None:
        raise ArgumentError("give either --data DIR or --sample, not both")
    if sample:  # the sample has 800 training and 200 test digits
        overrides.setdefault("train_subset", 800)
        overrides.setdefault("test_subset", 200)
    # checked once, by run_experiment, before anything is created
    config = dataclasses.replace(PRESETS[preset], batchnorm=bn, init=init, optimizer=optimizer, **overrides)

    from ..experiments.depth_report import findings_text, results_table
    from ..experiments.depth_run import run_experiment

    def progress(i: int, n: int, r: dict[str, Any]) -> None:
        if quiet:
            return
        f = r["final"]
        loss = "diverged" if f["train_loss"] is None else f"{f['train_loss']:.3f}"
        print(f"[{i:>2}/{n}] {r['name']:<16} train loss {loss:>8}  test acc {100 * f['test_accuracy']:5.1f}%  "
              f"{r['wall_time_s']:6.1f} s", file=sys.stderr, flush=True)

    try:
        results, paths = run_experiment(config, out, data=data, sample=sample, download=download,
                                        overwrite=overwrite, progress=progress)
    except KeyboardInterrupt:
        # the outputs are written at the end only: an interrupted experiment has none to keep
        print(f"interrupted; the experiment writes its outputs when every net is trained, so {out} "
              f"holds none of its outputs: start it again",
              file=sys.stderr)
        raise typer.Exit(130) from None
    typer.echo(results_table(results))
    typer.echo("")
    for line in findings_text(results):
        typer.echo(line)
    typer.echo("")
    typer.echo(f"total wall time {results['wall_time_s']:.1f} s; wrote " + ", ".join(
        str(p) for p in paths.values()))
