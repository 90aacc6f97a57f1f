"""Reliability: SIGKILL during an epoch, during a checkpoint write, and at a random moment; the
previous checkpoint stays loadable and --resume ends with exactly the uninterrupted run's metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shapetrace.train.checkpoint import load_checkpoint

from .conftest import REPO, cli, once_per_session

METRIC_KEYS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc")


def _args(shared_mnist: Path, out: Path) -> list[str]:
    return ["train", "--data", str(shared_mnist), "--train-subset", "384", "--test-subset", "200",
            "--batch-size", "64", "--epochs", "3", "--threads", "1", "--quiet", "--out", str(out)]


def _metrics(out: Path) -> tuple[list, dict]:
    m = json.loads((out / "metrics.json").read_text())
    assert m["done"] is True
    return [[h[k] for k in METRIC_KEYS] for h in m["history"]], m["test"]


@pytest.fixture(scope="module")
def reference(shared_mnist, tmp_path_factory) -> tuple[list, dict]:
    def uninterrupted(folder):
        done = cli(*_args(shared_mnist, folder / "run"))
        assert done.returncode == 0, done.stderr

    return _metrics(once_per_session(tmp_path_factory, "resume-reference", uninterrupted) / "run")


def _resume_and_compare(shared_mnist: Path, out: Path, reference) -> None:
    done = cli(*_args(shared_mnist, out), "--resume")
    assert done.returncode == 0, done.stderr
    history, test = _metrics(out)
    assert history == reference[0]  # bit for bit: same losses, accuracies and learning rates
    assert test == reference[1]
    assert not list(out.glob(".*.tmp"))


def test_resume_removes_the_temps_of_every_output(shared_mnist, tmp_path, reference):
    """A kill while the plots, metrics, log or weights are written leaves a temp file beside it
    (found by test_kill_at_an_arbitrary_moment: ``.curves.png.*.tmp``); --resume removes them all."""
    out = tmp_path / "run"
    killed = cli(*_args(shared_mnist, out), env={"SHAPETRACE_FAULT": "epoch:2:step:3"})
    assert killed.returncode == -signal.SIGKILL
    names = ["checkpoint.pt", "model.safetensors", "metrics.json", "log.csv", "curves.png", "confusion.png"]
    for name in names:
        (out / f".{name}.x1y2z3.tmp").write_bytes(b"half")
    (out / "notes.tmp").write_text("the user's own file")
    _resume_and_compare(shared_mnist, out, reference)
    assert (out / "notes.tmp").read_text() == "the user's own file"


def test_kill_during_an_epoch(shared_mnist, tmp_path, reference):
    out = tmp_path / "run"
    killed = cli(*_args(shared_mnist, out), env={"SHAPETRACE_FAULT": "epoch:2:step:3"})
    assert killed.returncode == -signal.SIGKILL
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt.epoch == 1 and not (out / "model.safetensors").exists()
    _resume_and_compare(shared_mnist, out, reference)


def test_kill_during_a_checkpoint_write(shared_mnist, tmp_path, reference):
    out = tmp_path / "run"
    killed = cli(*_args(shared_mnist, out), env={"SHAPETRACE_FAULT": "checkpoint:2"})
    assert killed.returncode == -signal.SIGKILL
    partial = list(out.glob(".checkpoint.pt.*.tmp"))
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # the kill hit mid-write
    assert load_checkpoint(out / "checkpoint.pt").epoch == 1  # the previous one is intact
    _resume_and_compare(shared_mnist, out, reference)


def test_kill_at_an_arbitrary_moment(shared_mnist, tmp_path, reference):
    """An outside SIGKILL once the first checkpoint exists, wherever the process then is."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("SHAPETRACE_FAULT", None)
    proc = subprocess.Popen([sys.executable, "-m", "shapetrace", *_args(shared_mnist, out)], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not (out / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert load_checkpoint(out / "checkpoint.pt").epoch >= 1
    _resume_and_compare(shared_mnist, out, reference)
