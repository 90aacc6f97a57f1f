"""`shapetrace train / eval / predict` through the CLI: outputs, --resume rules and one-line errors
with exit code 2 for bad input (wrong paths, another model's weights, pickled code, unwritable
output, bad values)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shapetrace.cli import main

from ..cli_run import run, one_line_error

TINY = ["--sample", "--train-subset", "128", "--test-subset", "100", "--epochs", "2", "--batch-size", "64",
        "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    with pytest.raises(SystemExit) as e:
        main(["train", *TINY, "--out", str(out)])
    assert e.value.code == 0
    return out


def test_command_module_does_not_import_torch():
    code = ("import sys\nimport shapetrace.cli.train_cmd\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_help_lists_the_commands(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and all(c in out for c in ("train", "eval", "predict"))
    code, out, _ = run(["train", "--help"], capsys)
    assert code == 0 and "--resume" in out and "--preset" in out


def test_train_writes_every_output(tiny_run):
    names = sorted(p.name for p in tiny_run.iterdir())
    assert names == [".shapetrace-run", "checkpoint.pt", "confusion.png", "curves.png", "log.csv", "metrics.json",
                     "model.safetensors"]
    m = json.loads((tiny_run / "metrics.json").read_text())
    assert m["config"]["sample"] is True and m["epochs_done"] == 2 and m["test"]["count"] == 100


def test_train_prints_a_line_per_epoch(tmp_path, capsys):
    code, out, err = run(["train", *TINY, "--epochs", "1", "--out", tmp_path / "r"], capsys)
    assert code == 0 and err == ""
    assert "epoch 1/1  train loss" in out and "img/s" in out and "test accuracy" in out


def test_existing_run_is_not_overwritten(tiny_run, capsys):
    before = (tiny_run / "checkpoint.pt").read_bytes()
    code, _, err = run(["train", *TINY, "--out", tiny_run], capsys)
    one_line_error(code, err, "already holds a run", "--resume", "--overwrite")
    assert (tiny_run / "checkpoint.pt").read_bytes() == before


def test_overwrite_starts_over(tmp_path, capsys):
    out = tmp_path / "r"
    assert run(["train", *TINY, "--epochs", "1", "--out", out], capsys)[0] == 0
    code, _, _ = run(["train", *TINY, "--epochs", "1", "--seed", "3", "--out", out, "--overwrite"], capsys)
    assert code == 0 and json.loads((out / "metrics.json").read_text())["config"]["seed"] == 3


def test_resume_needs_a_checkpoint(tmp_path, capsys):
    code, _, err = run(["train", *TINY, "--out", tmp_path / "fresh", "--resume"], capsys)
    one_line_error(code, err, "--resume", "checkpoint.pt does not exist")


def test_resume_refuses_a_changed_recipe(tiny_run, capsys):
    code, _, err = run(["train", *TINY, "--out", tiny_run, "--resume", "--lr", "0.5"], capsys)
    one_line_error(code, err, "--resume continues the saved run", "--lr is 0.002, not 0.5")


def test_resume_of_a_finished_run(tiny_run, capsys):
    code, out, _ = run(["train", *TINY, "--out", tiny_run, "--resume", "--threads", "1"], capsys)
    assert code == 0 and "already finished its 2 epochs" in out


def test_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = run(["train", *TINY, "--out", blocker / "run"], capsys)
    one_line_error(code, err, "cannot write there")
    code, _, err = run(["train", *TINY, "--out", blocker], capsys)
    one_line_error(code, err, "exists and is not a folder")


@pytest.mark.parametrize("args, needle", [
    (["--epochs", "0"], "--epochs must be an integer from 1 to 10,000"),
    (["--shift", "12"], "--shift must be an integer from 0 to 8"),
    (["--optimizer", "lion"], "'lion' is not one of"),
    (["--data", "/nonexistent"], "--sample and --data exclude each other"),
    (["--batch-size", "4096"], "--batch-size 4096 is larger than the 128 training digits"),
    (["--device", "cuda"], "no CUDA device is available") if not torch.cuda.is_available()
    else (["--epochs", "-1"], "--epochs must be an integer from 1 to 10,000"),
])
def test_bad_values(tmp_path, capsys, args, needle):
    code, _, err = run(["train", *TINY, *args, "--out", tmp_path / "r"], capsys)
    one_line_error(code, err, needle)


def test_missing_data_offline(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run(["train", "--data", tmp_path / "empty", "--no-download", "--out", tmp_path / "r"], capsys)
    one_line_error(code, err, "MNIST not found in", "--data DIR")
    assert not (tmp_path / "r").exists()  # nothing left behind by a run that never started


def test_eval_text_and_json(tiny_run, capsys):
    code, out, _ = run(["eval", "--model", tiny_run, "--sample"], capsys)
    assert code == 0
    assert "accuracy" in out and "per-class accuracy" in out and "confusion matrix" in out
    code, out, _ = run(["eval", "--model", tiny_run / "checkpoint.pt", "--sample", "--json"], capsys)
    assert code == 0
    got = json.loads(out)
    assert got["count"] == 1000 and len(got["per_class_accuracy"]) == 10 and got["per_class_count"] == [100] * 10
    assert np.array(got["confusion"]).sum() == 1000 and got["correct"] == int(np.trace(np.array(got["confusion"])))


def test_eval_wrong_path(tmp_path, capsys):
    code, _, err = run(["eval", "--model", tmp_path / "nope", "--sample"], capsys)
    one_line_error(code, err, "no such file or run folder")


def test_eval_another_models_checkpoint(tmp_path, capsys):
    path = tmp_path / "other.pt"
    torch.save(torch.nn.Conv2d(1, 4, 3).state_dict(), path)
    code, _, err = run(["eval", "--model", path, "--sample"], capsys)
    one_line_error(code, err, "weights of another model, not CNNWithResidual")


class _Evil:
    marker: Path

    def __reduce__(self):
        return (os.system, ("touch " + str(_Evil.marker),))


def test_eval_never_runs_pickled_code(tmp_path, capsys):
    _Evil.marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"conv1.weight": _Evil()}, path)
    code, _, err = run(["eval", "--model", path, "--sample"], capsys)
    one_line_error(code, err, "refused", "pickled Python objects")
    assert not _Evil.marker.exists()


def test_eval_sample_and_data_exclusive(tiny_run, capsys):
    code, _, err = run(["eval", "--model", tiny_run, "--sample", "--data", "/x"], capsys)
    one_line_error(code, err, "--sample and --data exclude each other")


def test_predict_errors(tiny_run, tmp_path, capsys):
    code, _, err = run(["predict", "--model", tiny_run, tmp_path / "missing.png"], capsys)
    one_line_error(code, err, "missing.png: no such file")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    code, _, err = run(["predict", "--model", tiny_run, text], capsys)
    one_line_error(code, err, "notes.png: not an image Pillow can read")
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 40), 255).save(blank)
    code, _, err = run(["predict", "--model", tiny_run, blank], capsys)
    one_line_error(code, err, "blank.png: no digit found")
    digit = tmp_path / "d.png"
    Image.fromarray(np.pad(np.full((10, 4), 255, np.uint8), 9)).save(digit)
    code, _, err = run(["predict", "--model", tmp_path / "no-run", digit], capsys)
    one_line_error(code, err, "no such file or run folder")
