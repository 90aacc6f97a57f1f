"""What `train`, `eval` and `predict` promise a careless user (issue 14): a run folder is locked
and never mixes two runs or a user's files, wrong-dtype weights and tampered checkpoints are one
error line, a closed stdout or Ctrl-C leaves a resumable run, out-of-range numbers are refused
before anything is written.

The runs are the smallest there are (64 sample digits, one or two epochs, one thread); the
processes that must be killed or stopped are real subprocesses, signalled at an exact step by
``SHAPETRACE_FAULT`` (``shapetrace/train/faults.py``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shapetrace.models.seed import CNNWithResidual
from shapetrace.train.checkpoint import CHECKPOINT_NAME, WEIGHTS_NAME, load_checkpoint

from ..cli_run import one_line_error, run
from .conftest import REPO

SMALL = ["--sample", "--train-subset", "64", "--test-subset", "32", "--batch-size", "32", "--epochs", "1",
         "--quiet"]
TINY = [*SMALL, "--threads", "1"]


def _popen(*args: str, fault: str | None = None, **kw) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SHAPETRACE_FAULT"}
    env["OMP_NUM_THREADS"] = "1"
    if fault:
        env["SHAPETRACE_FAULT"] = fault
    return subprocess.Popen([sys.executable, "-m", "shapetrace", *args], cwd=REPO, env=env, text=True, **kw)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished one-epoch run (in-process: no second torch import)."""
    out = tmp_path_factory.mktemp("promises") / "run"
    with pytest.raises(SystemExit) as e:
        from shapetrace.cli import main

        main(["train", *TINY, "--out", str(out)])
    assert e.value.code == 0
    return out


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(run_dir, dst)
    return dst


# ----------------------------------------------------------------------------- the run folder

def test_a_busy_folder_is_locked_and_a_killed_overwrite_leaves_no_old_weights(finished_run, tmp_path, capsys):
    """Issue 14 items 4 and 5, on one real process: an --overwrite run, frozen by SIGSTOP inside its
    first epoch, holds the folder: a second run into it is refused at once instead of training
    beside it. Killed there, it leaves none of the replaced run's weights, plots or metrics, so
    `eval --model` refuses the folder instead of scoring the old weights."""
    out = _copy(finished_run, tmp_path)
    first = _popen("train", *TINY, "--seed", "7", "--out", str(out), "--overwrite", fault="epoch:1:step:1:STOP",
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, status = os.waitpid(first.pid, os.WUNTRACED)  # returns once the first run has stopped itself
        assert os.WIFSTOPPED(status), first.stderr.read()
        for again in ([], ["--overwrite"], ["--resume"]):
            code, _, err = run(["train", *TINY, "--out", out, *again], capsys)
            one_line_error(code, err, "is in use by another shapetrace run", f"(process {first.pid})")
    finally:
        first.kill()
        first.wait(timeout=60)
        first.stderr.close()
    assert sorted(p.name for p in out.iterdir()) == [".shapetrace-run"]
    code, _, err = run(["eval", "--model", out, "--sample"], capsys)
    one_line_error(code, err, "holds neither model.safetensors nor checkpoint.pt")


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_users_files_are_not_a_run(tmp_path, capsys, overwrite):
    """Issue 14 item 3: a folder with a user's metrics.json and log.csv (no run marker) is refused,
    with or without --overwrite, and both files are left as they were."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "metrics.json").write_text('{"my": "numbers"}\n')
    (out / "log.csv").write_text("a,b\n1,2\n")
    code, _, err = run(["train", *TINY, "--out", out, *overwrite], capsys)
    one_line_error(code, err, "holds files that no shapetrace run wrote there", "metrics.json, log.csv")
    assert (out / "metrics.json").read_text() == '{"my": "numbers"}\n'
    assert (out / "log.csv").read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in out.iterdir()) == ["log.csv", "metrics.json"]


# ----------------------------------------------------------------------------- weights of the wrong dtype

def _digit_png(path: Path) -> Path:
    Image.fromarray(np.pad(np.full((12, 4), 255, np.uint8), 8)).save(path)
    return path


@pytest.mark.parametrize("dtype", [torch.bool, torch.int64, torch.complex64, torch.float8_e4m3fn, torch.int8],
                         ids=str)
def test_weights_of_the_wrong_dtype_are_refused(tmp_path, capsys, dtype):
    """Issue 14 item 7: the seed model's names and shapes, but not float values: eval and predict refuse."""
    from safetensors.torch import save_file

    state = {k: v.to(dtype) for k, v in CNNWithResidual().state_dict().items()}
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    name = str(dtype).replace("torch.", "")
    code, _, err = run(["eval", "--model", path, "--sample", "--test-subset", "10"], capsys)
    one_line_error(code, err, f"holds {name} values", "weights must be float16, bfloat16, float32 or float64")
    code, out, err = run(["predict", "--model", path, _digit_png(tmp_path / "d.png")], capsys)
    one_line_error(code, err, f"holds {name} values")
    assert out == ""


# ----------------------------------------------------------------------------- a closed stdout, Ctrl-C

def test_a_closed_stdout_keeps_training_and_saving(tmp_path):
    """Issue 14 item 8: `shapetrace train ... | head -1`: the reader goes after the first line; the run
    says so once on stderr, trains on, saves everything and exits 0 (no BrokenPipeError)."""
    out = tmp_path / "run"
    proc = _popen("train", *TINY, "--out", str(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=240) == 0, err
    assert first.startswith("training CNNWithResidual on 64 digits")
    assert err == ("shapetrace train: stdout was closed; training goes on and saves its outputs, "
                   "without printing\n")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["done"] is True and metrics["epochs_done"] == 1
    assert (out / WEIGHTS_NAME).is_file() and load_checkpoint(out / CHECKPOINT_NAME).epoch == 1


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, capsys):
    """Issue 14 item 11: SIGINT during epoch 2 exits 130 with one line naming `--resume`; the run
    then resumes from epoch 1's checkpoint and finishes."""
    out = tmp_path / "run"
    proc = _popen("train", *TINY, "--epochs", "2", "--out", str(out), fault="epoch:2:step:1:INT",
                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    assert err == (f"interrupted; the last finished epoch is saved in {out / CHECKPOINT_NAME}: continue with "
                   f"`shapetrace train --out {out} --resume`\n")
    assert load_checkpoint(out / CHECKPOINT_NAME).epoch == 1 and not (out / WEIGHTS_NAME).exists()
    code, stdout, _ = run(["train", *TINY, "--epochs", "2", "--out", out, "--resume"], capsys)
    assert code == 0 and "resuming" in stdout and (out / WEIGHTS_NAME).is_file()


# ----------------------------------------------------------------------------- tampered checkpoints

TAMPERED = {
    "epoch=-5": ("epoch", -5, "epoch must be an integer of at least 1"),
    "epoch='one'": ("epoch", "one", "epoch must be an integer of at least 1"),
    "optimizer_state={}": ("optimizer_state", {}, "optimizer_state must hold 'state' and 'param_groups'"),
    "history='nope'": ("history", "nope", "history must be a list of one entry per epoch done"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_checkpoint_is_one_error_line(finished_run, tmp_path, capsys, case):
    """Issue 14 item 2: a checkpoint that loads (tensors and plain data only) but was edited by hand:
    `train --resume` and `eval` give one error line naming the field, exit 2, and change nothing."""
    key, value, needle = TAMPERED[case]
    out = _copy(finished_run, tmp_path)
    obj = torch.load(out / CHECKPOINT_NAME, weights_only=True)
    obj[key] = value
    torch.save(obj, out / CHECKPOINT_NAME)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = run(["train", *TINY, "--out", out, "--resume"], capsys)
    one_line_error(code, err, "damaged checkpoint", needle)
    code, _, err = run(["eval", "--model", out / CHECKPOINT_NAME, "--sample"], capsys)
    one_line_error(code, err, "damaged checkpoint", needle)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ----------------------------------------------------------------------------- numbers out of range

@pytest.mark.parametrize("args, needle", [
    (["--threads", "100000"], "--threads must be an integer from 1 to"),
    (["--threads", "5000"], "--threads must be an integer from 1 to"),
    (["--threads", "20000"], "--threads must be an integer from 1 to"),
    (["--lr", "1e308"], "--lr must be at most 1000"),
    (["--lr", "inf"], "--lr must be a finite number"),
    (["--seed", "99999999999999999999"], "--seed is beyond the 64-bit integer range"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_numbers_out_of_range_leave_nothing_behind(tmp_path, capsys, args, needle):
    """Issue 14 items 1, 2, 11: refused before any work (a segfault, a hang, libgomp's exit 1, a
    traceback and NaN losses before), and no run folder is left behind."""
    out = tmp_path / "run"
    threads = torch.get_num_threads()
    code, _, err = run(["train", *SMALL, *args, "--out", out], capsys)
    one_line_error(code, err, needle)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("content", [b"some notes here\n", b"x", b"\x80\x04\x95", bytes(range(256))],
                         ids=["text", "one byte", "cut pickle", "binary"])
def test_any_file_as_model_is_one_error_line(tmp_path, capsys, content):
    """A text or binary file given as --model reaches torch's unpickler, which raised IndexError on
    a line of text (found by tests/test_hostile_walk.py): one error line, exit 2, for eval and predict."""
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    code, _, err = run(["eval", "--model", path, "--sample", "--test-subset", "10"], capsys)
    one_line_error(code, err, f"{path}: not a readable checkpoint")
    code, _, err = run(["predict", "--model", path, _digit_png(tmp_path / "d.png")], capsys)
    one_line_error(code, err, f"{path}: not a readable checkpoint")
