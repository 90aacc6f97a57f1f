"""`shapetrace layer`: output shape and worked formula; one-line errors with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..cli_run import run


def test_the_issue_example(capsys):
    code, out, err = run(["layer", "Conv2d", "--input", "1,1,28,28", "out_channels=32", "kernel_size=3",
                          "padding=1"], capsys)
    assert code == 0 and err == ""
    assert "output: (1, 32, 28, 28)" in out
    assert "H_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28" in out


def test_tuples_strings_and_json(capsys):
    code, out, _ = run(["layer", "Conv2d", "--input", "(2, 3, 9, 9)", "out_channels=4", "kernel_size=(3, 5)",
                        "stride=2", "padding=same"], capsys)
    assert code == 1  # padding='same' with stride 2
    code, out, _ = run(["layer", "Conv2d", "--input", "2x3x9x9", "out_channels=4", "kernel_size=3,5",
                        "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["output_shape"] == [2, 4, 7, 5]
    assert data["kwargs"]["kernel_size"] == [3, 5]


def test_korean(capsys):
    code, out, _ = run(["layer", "Conv2d", "--input", "1,1,28,28", "out_channels=32", "kernel_size=3",
                        "--lang", "ko"], capsys)
    assert code == 0 and "출력: (1, 32, 26, 26)" in out


@pytest.mark.parametrize("argv, code, words", [
    (["layer", "Conv2d", "--input", "1,1,2,2", "out_channels=3", "kernel_size=3"], 1,
     "kernel_size 3 (dilated: 3) is larger than the padded input height 2"),
    (["layer", "Conv2d", "--input", "1,2,8,8", "in_channels=3", "out_channels=3", "kernel_size=3"], 1,
     "expected input with 3 channels"),
    (["layer", "Conv2d", "--input", "1,4,8,8", "out_channels=3", "kernel_size=3", "groups=3"], 1,
     "in_channels 4 is not divisible by groups 3"),
    (["layer", "Conv2x", "--input", "1,1,8,8"], 2, "unknown layer 'Conv2x'; did you mean Conv2d"),
    (["layer", "Conv2d", "--input", "1,1,8,8", "kernal_size=3", "out_channels=1"], 2,
     "did you mean 'kernel_size'"),
    (["layer", "Conv2d", "--input", "1,1,8,8", "kernel_size"], 2, "must look like key=value"),
    (["layer", "Conv2d", "--input", "1,one,8,8"], 2, "--input must be integers"),
    (["layer", "Conv2d", "--input", "1,-1,8,8"], 2, "negative size"),
    (["layer", "Conv2d", "--input", "1,1,8,8", "out_channels=1", "kernel_size=abc"], 2,
     "kernel_size must be an integer or a tuple"),
    (["layer", "Conv2d", "--input", "1,1,8,8", "out_channels=1"], 2, "missing required argument 'kernel_size'"),
    (["layer", "Conv2d", "--inpt", "1,1,8,8"], 2, "No such option: --inpt"),
    (["layer", "Conv2d", "--input", "1,1,8,8", "out_channels=1", "kernel_size=3", "--lang", "fr"], 2,
     "lang must be 'en' or 'ko'"),
])
def test_bad_input_is_one_line_with_exit_code(argv, code, words, capsys):
    got, out, err = run(argv, capsys)
    assert got == code
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert words in err
    assert "Traceback" not in err + out


def test_layer_command_does_not_import_torch():
    code = ("import sys; from shapetrace.cli import main\n"
            "try:\n    main(['layer', 'Conv2d', '--input', '1,1,28,28', 'out_channels=32', 'kernel_size=3'])\n"
            "except SystemExit as e:\n    assert e.code == 0\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_console_script_runs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "shapetrace", "layer", "MaxPool2d", "--input", "1,1,28,28",
                        "kernel_size=2", "stride=2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "(1, 1, 14, 14)" in r.stdout


@pytest.mark.parametrize("text, shape", [("1,1,28,28", (1, 1, 28, 28)), ("(1, 1, 28, 28)", (1, 1, 28, 28)),
                                         ("1x1x28x28", (1, 1, 28, 28)), ("(1152,)", (1152,)),
                                         ("[2, 3]", (2, 3))])
def test_parse_shape(text, shape):
    from shapetrace.cli._common import parse_shape

    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["1,x,28", "1,,28", "x1", "", "()", "1;2", "1.5,2"])
def test_parse_shape_rejects(text):
    from shapetrace.cli._common import parse_shape
    from shapetrace.core.errors import ShapetraceError

    with pytest.raises(ShapetraceError):
        parse_shape(text)
