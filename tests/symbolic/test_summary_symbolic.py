"""`shapetrace summary --symbolic`: each row's output as a formula of the varying sizes.
A formula is the same function at every size: the formulas found at one accepted size
are the ones found at another, and there they give the real tracer's shapes."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import shapetrace
from shapetrace.cli import app
from shapetrace.core.spec import flow, parse_spec
from shapetrace.models.seed import CNNWithResidual as Seed
from shapetrace.sizes import row_formulas

from . import zoo


@pytest.mark.parametrize("model, a, b", [
    (Seed, (1, 1, 28, 28), (1, 1, 9, 75)),
    (zoo.UNet, (1, 1, 32, 32), (1, 1, 16, 44)),
    (zoo.Conv3dNet, (1, 1, 5, 20, 24), (1, 1, 4, 21, 25)),
])
def test_module_formulas_hold_at_another_size(model, a, b):
    torch.manual_seed(0)
    m = model().eval()
    fa = row_formulas(m, shapetrace.summary(m, input_size=a, device="cpu"), a)
    rep_b = shapetrace.summary(m, input_size=b, device="cpu")
    fb = row_formulas(m, rep_b, b)  # each one checked against rep_b's shapes
    assert all(f is not None for f in fb), [r.name for r, f in zip(rep_b.rows, fb) if f is None]
    assert fa == fb


def test_spec_formulas_hold_at_another_size():
    spec = parse_spec({**zoo.STRIDED_SPEC, "input": [1, 1, 24, 40]})  # both sizes accepted
    fa = row_formulas(spec, flow(spec), None)
    other = parse_spec({**zoo.STRIDED_SPEC, "input": [1, 1, 40, 23]})
    fb = row_formulas(other, flow(other), None)
    assert None not in fb and fa == fb
    assert fa[-2] == "(1, 2·⌊(H + 3)/12⌋·⌊(W + 3)/12⌋)"  # the flatten


def test_cli_column_in_english_and_korean():
    r = CliRunner().invoke(app, ["summary", "seed", "--symbolic", "--columns", "layer,output"])
    assert r.exit_code == 0, r.output
    head = r.stdout.splitlines()[1]
    assert head.split() [-3:] == ["Output", "(any", "size)"]
    assert "(1, 128·⌊H/8⌋·⌊W/8⌋)" in r.stdout and "(1, 128, ⌊H/8⌋, ⌊W/8⌋)" in r.stdout
    ko = CliRunner().invoke(app, ["summary", "seed", "--symbolic", "--lang", "ko"])
    assert ko.exit_code == 0 and "출력 (임의 크기)" in ko.stdout


def test_cli_spec_file_and_folded_rows(tmp_path):
    p = tmp_path / "unet.json"
    p.write_text(json.dumps(zoo.UNET_SPEC))
    r = CliRunner().invoke(app, ["summary", str(p), "--symbolic", "--depth", "0", "--columns", "layer,output"])
    assert r.exit_code == 0, r.output
    assert "(1, 1, H, W)" in r.stdout


@pytest.mark.parametrize("args", [["--format", "json"], ["--seed-table"]])
def test_cli_symbolic_needs_the_flow_table(args):
    r = CliRunner().invoke(app, ["summary", "seed", "--symbolic", *args])
    assert r.exit_code == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --symbolic")


def test_cli_the_symbolic_column_without_symbolic_is_refused():
    # --columns symbolic alone printed a blank column with exit 0
    r = CliRunner().invoke(app, ["summary", "seed", "--columns", "layer,symbolic", "--format", "markdown"])
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["error: the column 'symbolic' comes with --symbolic (--format table)"]


def test_cli_a_model_file_is_run_once_for_its_formulas(tmp_path):
    # the formulas came from a second import and build of the target (its code ran twice)
    f = tmp_path / "net.py"
    f.write_text("import torch.nn as nn\nprint('IMPORTED')\n"
                 "class Net(nn.Sequential):\n"
                 "    def __init__(self):\n        print('BUILT'); super().__init__(nn.Conv2d(1, 2, 3), nn.Flatten())\n")
    r = CliRunner().invoke(app, ["summary", f"{f}:Net", "--input", "1,1,8,8", "--symbolic",
                                 "--columns", "layer,output"])
    assert r.exit_code == 0, r.output
    assert (r.stderr.count("IMPORTED"), r.stderr.count("BUILT")) == (1, 1)
    assert "(1, 2, H − 2, W − 2)" in r.stdout, r.stdout
