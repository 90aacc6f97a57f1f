"""`shapetrace summary`: targets, formats, the seed's table, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..cli_run import run
from ..seed_table import SEED_TABLE

ROOT = Path(__file__).resolve().parents[2]
SEED_YAML = str(ROOT / "examples" / "seed.yaml")



def test_no_arguments_traces_the_seed(capsys):
    code, out, err = run(["summary", "--width", "200"], capsys)
    assert code == 0 and err == ""
    assert "CNNWithResidual (input (1, 1, 28, 28), device cpu)" in out
    for text in ("resblock2", "MaxPool2d", "(1, 1152)", "883,082", "classify labels (0-9)"):
        assert text in out


def test_the_seeds_table(capsys):
    code, out, err = run(["summary", "--format", "markdown", "--layout", "hwc", "--lang", "ko",
                          "--seed-table"], capsys)
    assert (code, out, err) == (0, SEED_TABLE, "")


def test_the_seeds_table_from_the_spec_without_torch():
    """A spec file never imports torch (cold start far below `import torch`)."""
    code = textwrap.dedent(f"""
        import sys
        from shapetrace.cli import main
        try:
            main(["summary", {SEED_YAML!r}, "-f", "markdown", "--layout", "hwc", "--lang", "ko", "--seed-table"])
        except SystemExit as e:
            assert e.code in (0, None), e.code
        assert "torch" not in sys.modules, "torch was imported"
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == SEED_TABLE


@pytest.mark.parametrize("batch", [1, 64])
def test_seed_verbatim_fails_with_the_diagnosis(capsys, batch):
    code, out, err = run(["summary", "seed-verbatim", "--input", f"{batch},1,28,28", "--width", "200"], capsys)
    assert code == 1
    assert "✗ fails" in out
    assert "1152 = 128 x 3 x 3" in out and "6272 = 128 x 7 x 7" in out
    assert "fix: fc1 = nn.Linear(1152, 512)" in out and "fix: x.flatten(1) instead of x.view(-1, 6272)" in out
    assert err.count("\n") == 1 and err.startswith("error: `view`: view(-1, 6272) cannot reshape")


def test_seed_verbatim_batch_49_exits_1(capsys):
    code, out, err = run(["summary", "seed-verbatim", "-i", "49,1,28,28", "-f", "markdown", "--layout", "hwc",
                          "--seed-table"], capsys)
    assert code == 1
    assert "| Flatten | (3, 3, 128) | (9, 6272) | flatten (2D -> 1D) |" in out
    assert "warning" in out and err.startswith("error: `view`: view(-1, 6272) turned a batch of 49 into 9")


def test_spec_with_a_shape_error_exits_1(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [1, 1, 28, 28]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 3}\n"
                    "  - {type: Flatten}\n  - {type: Linear, in_features: 6272, out_features: 10}\n")
    code, out, err = run(["summary", str(spec), "-f", "markdown"], capsys)
    assert code == 1 and "6272" in out and err.startswith("error: ")


def test_spec_input_override(capsys):
    code, out, _ = run(["summary", SEED_YAML, "--input", "2,1,28,28", "-f", "json"], capsys)
    assert code == 0
    assert json.loads(out)["rows"][-1]["output_shapes"] == [[2, 10]]


def test_file_target_with_kwargs(tmp_path, capsys):
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self, width=4, kernel=(3, 3)):
                super().__init__()
                self.conv = nn.Conv2d(1, width, kernel)
            def forward(self, x):
                return self.conv(x)
        def make(width=2):
            return Net(width)
        instance = Net(5)
        not_a_model = 3
    """))
    path = str(tmp_path / "net.py")
    code, out, _ = run(["summary", f"{path}:Net", "-i", "1,1,8,8", "--kwargs", "width=6,kernel=(3,5)", "-f", "json"],
                       capsys)
    assert code == 0
    assert json.loads(out)["rows"][-1]["output_shapes"] == [[1, 6, 6, 4]]
    code, out, _ = run(["summary", f"{path}:make", "-i", "1,1,8,8", "--kwargs", "{width: 3}", "-f", "csv"], capsys)
    assert code == 0 and "(1, 3, 6, 6)" in out
    code, out, _ = run(["summary", f"{path}:instance", "-i", "1,1,8,8", "-f", "csv"], capsys)
    assert code == 0 and "(1, 5, 6, 6)" in out


def test_module_target(capsys):
    code, out, _ = run(["summary", "shapetrace.models.seed:CNNWithResidual", "-i", "2,1,28,28", "--kwargs",
                        "num_classes=5", "-f", "csv", "--device", "meta"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[-1]["output_shapes"] == "(2, 5)"


@pytest.mark.parametrize("fmt, check", [
    ("json", lambda out: json.loads(out)["totals"]["params"] == 883082),
    ("csv", lambda out: out.startswith("depth,name,kind,input_shapes")),
    ("html", lambda out: out.startswith('<div class="shapetrace">') and "</table>" in out),
    ("markdown", lambda out: out.startswith("**CNNWithResidual")),
])
def test_formats(capsys, fmt, check):
    code, out, _ = run(["summary", "-f", fmt], capsys)
    assert code == 0 and check(out)


def test_explain_flops_depth_columns(capsys):
    code, out, _ = run(["summary", "-f", "markdown", "--explain", "--flops", "--depth", "1",
                        "--columns", "layer,output,macs,formula"], capsys)
    assert code == 0
    assert out.splitlines()[2] == "| Layer | Output | FLOPs | Formula |"
    assert "resblock1.conv1" not in out  # folded
    assert "| resblock1 | (1, 64, 14, 14) | 22,478,848 |" in out  # 2 x MACs of the block
    assert "H_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28" in out


def test_output_file(tmp_path, capsys):
    target = tmp_path / "flow.md"
    code, out, err = run(["summary", "-f", "markdown", "--seed-table", "--layout", "hwc", "--lang", "ko",
                          "-o", str(target)], capsys)
    assert (code, out, err) == (0, "", "")
    assert target.read_text(encoding="utf-8") == SEED_TABLE
    code, _, err = run(["summary", "-o", str(tmp_path / "missing" / "x.txt")], capsys)
    assert code == 2 and err.startswith("error: cannot write")


@pytest.mark.parametrize("argv, words", [
    (["summary", "nosuchmodel"], "unknown target 'nosuchmodel'"),
    (["summary", "missing.yaml"], "spec file not found"),
    (["summary", "missing.py:Net", "-i", "1,2"], "no such file: missing.py"),
    (["summary", "shapetrace.nosuch:Net", "-i", "1,2"], "cannot import module 'shapetrace.nosuch'"),
    (["summary", "shapetrace.models.seed:Nope", "-i", "1,2"], "has no 'Nope'"),
    (["summary", "shapetrace.models.seed:FLAT_FEATURES", "-i", "1,2"], "is a int, not an nn.Module"),
    (["summary", "shapetrace.models.seed:CNNWithResidual", "-i", "1,1,28,28", "--kwargs", "colour=3"],
     "bad --kwargs"),
    (["summary", "shapetrace.models.seed:CNNWithResidual"], "give the model's input shape with --input"),
    (["summary", "--input", "1,one,28"], "--input must be integers"),
    (["summary", "--format", "pdf"], "format must be one of"),
    (["summary", "--layout", "chw"], "layout must be one of"),
    (["summary", "--lang", "fr"], "lang must be 'en' or 'ko'"),
    (["summary", "--kwargs", "3"], "--kwargs entries must look like name=value"),
    (["summary", "--kwargs", "{a: [1"], "--kwargs is not a valid YAML/JSON mapping"),
    (["summary", "--device", "tpu"], "device must be auto, meta, cpu or cuda"),
    (["summary", "--columns", "layer,colour"], "columns entry must be one of"),
    (["summary", SEED_YAML, "--kwargs", "a=1"], "apply to model targets"),
    (["summary", "--depth", "-1"], "--depth"),
    (["summary", "a:b:1c"], "is not a Python name"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, words):
    code, out, err = run(argv, capsys)
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err, err


def test_user_code_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "bad.py").write_text("def broken(:\n    pass\n")
    (tmp_path / "boom.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        class Boom(nn.Module):
            def __init__(self):
                super().__init__()
                raise RuntimeError("no GPU in the constructor")
        class TypeErr(nn.Module):
            def forward(self, x, y):
                return x + y
        raise_at_import = False
    """))
    (tmp_path / "imp.py").write_text("raise ImportError('missing dependency foo')\n")
    for argv, words in [
        ([f"{tmp_path / 'bad.py'}:X"], "syntax error"),
        ([f"{tmp_path / 'boom.py'}:Boom"], "building"),
        ([f"{tmp_path / 'boom.py'}:TypeErr"], "TypeErr.forward(x, y) does not take the inputs given: missing a required argument: 'y'"),
        ([f"{tmp_path / 'imp.py'}:X"], "raised ImportError: missing dependency foo"),
        ([f"{tmp_path / 'notes.txt'}:X"], "no such file"),
    ]:
        code, out, err = run(["summary", *argv, "-i", "1,3"], capsys)
        assert code == 2, (argv, out, err)
        assert err.count("\n") == 1 and words in err, err


def test_help_lists_the_options(capsys):
    code, out, _ = run(["summary", "--help"], capsys)
    assert code == 0
    for opt in ("--seed-table", "--layout", "--lang", "--explain", "--kwargs", "--input", "--device"):
        assert opt in out


def test_a_forward_meta_cannot_run_names_the_clis_option(tmp_path, capsys):
    (tmp_path / "dd.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        class DataDependent(nn.Module):  # reads a value its weights compute: none on meta
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 3)
            def forward(self, x):
                return x * 2 if self.fc(x).sum().item() > 0 else x
    """))
    target = f"{tmp_path / 'dd.py'}:DataDependent"
    code, out, err = run(["summary", target, "-i", "1,3", "--device", "meta"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "--device cpu (CLI)" in err, err
    code, out, err = run(["summary", target, "-i", "1,3"], capsys)  # auto: the CPU for a small model
    assert (code, err) == (0, "") and "device cpu" in out
