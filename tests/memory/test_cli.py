"""``shapetrace memory``: the JSON keys, the table, the target as ``summary`` resolves it, and
bad input as one ``error:`` line with exit code 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import shapetrace
from shapetrace.models.seed import CNNWithResidual

from ..cli_run import one_line_error, run

ROOT = Path(__file__).resolve().parents[2]


def test_json_has_the_issues_keys_and_equals_the_api(capsys):
    code, out, err = run(["memory", "seed", "--input", "2,1,28,28", "--optimizer", "sgd",
                          "--budget", "64MiB", "--format", "json"], capsys)
    assert code == 0 and err == ""
    d = json.loads(out)
    for key in ("params", "grads", "optimizer_state", "saved_activations", "peak", "max_batch_size"):
        assert isinstance(d[key], int) and d[key] >= 0, key
    assert d["optimizer_state"] == 0  # plain SGD keeps nothing
    assert all(isinstance(r["saved"], int) for r in d["rows"]) and d["rows"][0]["kind"] == "CNNWithResidual"
    assert set(d["flops"]) == {"forward", "backward", "total"}
    api = shapetrace.train_memory(CNNWithResidual(), (2, 1, 28, 28), optimizer="sgd", budget="64MiB")
    assert d == json.loads(json.dumps(api.to_dict()))


def test_batch_size_replaces_the_inputs_batch(capsys):
    code, out, _ = run(["memory", "--batch-size", "3", "--format", "json"], capsys)  # seed, its 1,1,28,28
    d = json.loads(out)
    assert code == 0 and d["batch_size"] == 3 and d["input_shapes"] == [[3, 1, 28, 28]]
    api = shapetrace.train_memory(CNNWithResidual(), (3, 1, 28, 28))
    assert (d["peak"], d["saved_activations"]) == (api.peak, api.saved_activations)


def test_table_markdown_and_korean(capsys, tmp_path):
    model = tmp_path / "net.py"
    model.write_text("import torch.nn as nn\n"
                     "def Net():\n    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))\n")
    code, out, err = run(["memory", f"{model}:Net", "--input", "4,8", "--optimizer", "adam"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("Training step of Sequential: batch 4, adam, float32, cpu backend")
    for text in ("saved activations", "peak", "FLOPs"):
        assert text in out, text
    assert re.search(r"^  0 +Linear +128 B +1\.02 K +1\.02 K$", out, re.M), out  # 4x8 inputs saved
    code, out, _ = run(["memory", f"{model}:Net", "--input", "4,8", "--format", "markdown", "--lang", "ko"], capsys)
    assert code == 0 and out.startswith("### Sequential의 학습 단계") and "| 역전파용 저장 텐서 |" in out
    code, out, _ = run(["memory", f"{model}:Net", "--input", "4,8", "--lang", "ko"], capsys)
    from rich.cells import cell_len

    table = out.split("\n\n")[2].splitlines()  # the rows: right-aligned, so every line ends in one column
    assert code == 0 and table[0].startswith("층") and len({cell_len(line) for line in table}) == 1, table


@pytest.mark.parametrize("args, needle", [
    (["--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    (["--batch-size", "0"], "batch size must be a positive integer, got 0"),
    (["--budget", "16GB"], "did you mean 16GiB"),
    (["--budget", "lots"], "budget must be a size like 16GiB"),
    (["--budget", "0"], "budget must be positive"),
    (["--budget", "1KiB"], "smaller than the weights"),
    (["--dtype", "float64"], "unknown dtype 'float64'"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--format", "csv"], "--format must be table, markdown or json"),
    ([str(ROOT / "examples" / "seed.yaml")], "a spec file has no weights to train"),
    (["no_such_target"], "unknown target"),
])
def test_bad_input_is_one_error_line_exit_2(args, needle, capsys):
    code, out, err = run(["memory", *args], capsys)
    one_line_error(code, err, needle)
    assert out == ""


def test_the_models_own_failures_are_one_line(capsys, tmp_path):
    f = tmp_path / "bad.py"
    f.write_text("import torch.nn as nn\n"
                 "class Raises(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__(); self.l = nn.Linear(4, 4)\n"
                 "    def forward(self, x):\n        print('hello'); raise TypeError('boom')\n"
                 "class Quits(Raises):\n"
                 "    def forward(self, x):\n        import sys; sys.exit(3)\n"
                 "class Frozen(nn.Module):\n"
                 "    def forward(self, x):\n        return x * 2\n")
    code, out, err = run(["memory", f"{f}:Raises", "--input", "2,4", "--format", "json"], capsys)
    assert code == 2 and out == "" and err.splitlines() == [
        "hello", "error: the training step failed on fake tensors: TypeError: boom"]
    code, out, err = run(["memory", f"{f}:Quits", "--input", "2,4"], capsys)
    assert code == 1 and err.count("error:") == 1 and "sys.exit(3)" in err
    code, out, err = run(["memory", f"{f}:Frozen", "--input", "2,4"], capsys)
    one_line_error(code, err, "no trainable parameters")


def test_a_shape_error_in_the_step_is_one_line_without_torchs_log():
    # FakeTensorMode logged the failing kernel ("E... fake_tensor.py] RuntimeError: ...") on
    # stderr before our error line; a real process, as torch's log handler writes to fd 2.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "shapetrace", "memory", "--input", "1,1,64,64"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: the training step failed on fake tensors: RuntimeError: a and b must have same reduction "
        "dim, but got [1, 8192] X [1152, 512]."], done.stderr


@pytest.mark.parametrize("args, hint", [
    (["--input-dtype", "float64"], "(input 0 is float64 and the weights train in float32: leave floating inputs out "
                                   "of --input-dtype (dtypes= in Python) and they take the training dtype, --dtype)"),
    (["--dtype", "bfloat16", "--input-dtype", "float32"], "(input 0 is float32 and the weights train in bfloat16: "),
])
def test_a_floating_input_dtype_other_than_the_training_one_says_what_to_pass(args, hint, capsys):
    # The step fails in torch's words ("Input type (double) and bias type (float) should be
    # the same"); the trace's hint names --dtype, which in `memory` is the weights' dtype.
    code, out, err = run(["memory", *args], capsys)
    one_line_error(code, err, "the training step failed on fake tensors")
    assert hint in err and out == ""


def test_an_integer_or_the_training_input_dtype_adds_no_hint(capsys):
    code, out, err = run(["memory", "--input-dtype", "float32"], capsys)
    assert code == 0 and err == ""
    code, out, err = run(["memory", "--input-dtype", "int64"], capsys)
    one_line_error(code, err, "the training step failed on fake tensors")
    assert "--input-dtype" not in err


@pytest.mark.parametrize("cmd, option", [("summary", "--dtype"), ("memory", "--input-dtype")])
def test_more_dtypes_than_inputs_is_named_in_the_clis_words(cmd, option, capsys):
    # It said "dtypes has 2 entries for 1 input": the Python argument, not the option.
    code, out, err = run([cmd, "-i", "1,1,28,28", option, "float32;int64"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"{option} gives 2 dtypes for 1 input (--input)" in err
    code, out, err = run([cmd, "-i", "1,1,28,28;1,1,28,28", option, "float32;float32;int64"], capsys)
    assert code == 2 and "gives 3 dtypes for 2 inputs (--input)" in err
    code, out, err = run([cmd, "-i", "1,1,28,28", option, "float32"], capsys)  # one for all
    assert code == 0, err
    # each entry in the option's words, not the Python argument's ("dtypes entries must be ...")
    code, out, err = run([cmd, "-i", "1,1,28,28;1,1,28,28", option, "int64;"], capsys)
    assert code == 2 and f"{option} has an empty entry: 'int64;'" in err and len(err.strip().splitlines()) == 1
    code, out, err = run([cmd, "-i", "1,1,28,28", option, "x" * 300], capsys)
    assert code == 2 and f"{option}: '{'x' * 40}' is not a torch dtype" in err and len(err) < 200


MEMGAPS = '''
import torch
from torch import nn
import torch.nn.functional as F


class Bias(nn.Module):  # a bias of 2 into 1 output feature: the CPU refuses it, fake kernels did not
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(1, 4))
        self.b = nn.Parameter(torch.randn(2))

    def forward(self, x):
        return F.linear(x, self.w, self.b).sum()


class Fits(Bias):
    def __init__(self):
        super().__init__()
        self.b = nn.Parameter(torch.randn(1))
'''


def test_a_shape_the_cpu_refuses_fails_the_step_as_on_the_cpu(tmp_path, capsys):
    f = tmp_path / "gaps.py"
    f.write_text(MEMGAPS)
    code, out, err = run(["memory", f"{f}:Bias", "--input", "2,3,4"], capsys)
    one_line_error(code, err, "the training step failed on fake tensors: RuntimeError: The expanded size of the "
                              "tensor (1) must match the existing size (2)")
    code, out, err = run(["memory", f"{f}:Fits", "--input", "2,3,4"], capsys)
    assert code == 0, err
