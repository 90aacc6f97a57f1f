"""`torchrun --nproc_per_node=2 -m shapetrace train`: DDP on 2 CPU processes (gloo). Each rank
trains on its shard of every global batch and evaluates its shard of the test set; gradients and
sums are folded in rank order, so the run is bit for bit the run of one process with
`--shards 2` (what the README promises; with `--shards 1` it agrees only to rounding)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from shapetrace.train.checkpoint import load_checkpoint
from shapetrace.train.config import TrainConfig
from shapetrace.train.loop import run

from .conftest import REPO

ARGS = ["--sample", "--train-subset", "512", "--test-subset", "200", "--epochs", "2", "--batch-size", "64"]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {k: v for k, v in os.environ.items() if k not in ("SHAPETRACE_FAULT", "WORLD_SIZE", "RANK")}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "shapetrace", "train", *ARGS, "--quiet", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_two_processes_with_gloo(ddp_run):
    out, done = ddp_run
    m = json.loads((out / "metrics.json").read_text())
    assert (m["world_size"], m["backend"], m["device"]) == (2, "gloo", "cpu")
    # reduced across ranks: the whole test set is counted, not one rank's half
    assert m["test"]["count"] == 200 and sum(map(sum, m["test"]["confusion"])) == 200
    assert done.stdout.count("epoch 1/2") == 1  # only rank 0 prints (and writes)
    assert "over 2 processes (gloo)" in done.stdout
    assert len((out / "log.csv").read_text().splitlines()) == 3
    assert load_checkpoint(out / "checkpoint.pt").world_size == 2
    assert (out / "model.safetensors").is_file()


def test_matches_one_process_with_two_shards_bit_for_bit(ddp_run, tmp_path):
    """torchrun N == `train --shards N`: the same losses, accuracies, learning rates and final
    weights, bit for bit (timings aside)."""
    from safetensors.torch import load_file

    out, _ = ddp_run
    cfg = TrainConfig.from_preset(sample=True, train_subset=512, test_subset=200, epochs=2, batch_size=64,
                                  threads=1, shards=2, out=str(tmp_path / "single"))
    single = run(cfg, progress=False, echo=lambda _m: None)
    numbers = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc")
    ddp = json.loads((out / "metrics.json").read_text())
    assert [[h[k] for k in numbers] for h in ddp["history"]] == [[h[k] for k in numbers] for h in single.history]
    assert ddp["test"] == single.final
    a, b = load_file(str(out / "model.safetensors")), load_file(str(tmp_path / "single" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
