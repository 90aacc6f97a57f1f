"""The accepted set against brute force: a real CPU forward (models) or the core's
concrete flow (specs) at every size of a small grid, exactly."""

from __future__ import annotations

import torch
import pytest
from typer.testing import CliRunner

from shapetrace.cli import app
from shapetrace.core.spec import Spec, flow, parse_spec
from shapetrace.core.symbolic import analyze_spec
from shapetrace.models.seed import CNNWithResidual as Seed
from shapetrace.models.seed_verbatim import CNNWithResidual as SeedVerbatim
from shapetrace.trace.symbolic_probe import analyze_model

GRID = range(1, 71, 3)


def _torch_accepts(model, h, w) -> bool:
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, 1, h, w))
    except RuntimeError:
        return False
    return out.shape[0] == 1  # a row that changes the batch size is not accepted


@pytest.mark.parametrize("cls", [Seed, SeedVerbatim])
def test_seed_matches_torch_on_grid(cls):
    torch.manual_seed(0)
    model = cls().eval()
    res = analyze_model(model, (1, 1, 28, 28), max_size=80)
    assert res.exact
    for h in GRID:
        for w in GRID:
            assert res.contains((h, w)) == _torch_accepts(model, h, w), (h, w)


def test_seed_answers_from_the_issue():
    v = analyze_model(SeedVerbatim(), (1, 1, 28, 28))
    assert v.boxes == [((8, 15), (392, 399)), ((56, 63), (56, 63)), ((392, 399), (8, 15))]
    assert v.status((112, 112)).rows_per_sample == 4
    assert v.status((120, 120)).status.value == "raises"
    s = analyze_model(Seed(), (1, 1, 28, 28))
    assert s.boxes == [((8, 15), (72, 79)), ((24, 31), (24, 31)), ((72, 79), (8, 15))]
    assert s.to_dict()["rows"][-1]["output"] == ["1", "10"]


STRIDED = {"input": [1, 3, 32, 32], "layers": [
    {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "ReLU"},
    {"type": "Conv2d", "out_channels": 8, "kernel_size": 5, "stride": 3},
    {"type": "MaxPool2d", "kernel_size": 2, "ceil_mode": True},
    {"type": "Flatten"},
    {"type": "Linear", "in_features": 32, "out_features": 4}]}


def test_spec_matches_core_flow_on_grid():
    spec = parse_spec(STRIDED)
    res = analyze_spec(spec, max_size=60)
    assert res.exact
    for h in range(1, 61):
        for w in range(1, 61, 4):
            ok = flow(Spec((1, 3, h, w), spec.layers)).error is None
            assert res.contains((h, w)) == ok, (h, w)


@pytest.mark.parametrize("target", ["spec", "seed"])
@pytest.mark.parametrize("args", [["--dims", "9"], ["--dims", "-9"], ["--dims", "2,2"], ["--dims", ","],
                                  ["--max", "0"], ["--max", "-3"], ["--max", "abc"], ["--max", "4.5"],
                                  ["--max", "1000000000"], ["--max", "99999999999999999999"], ["--dims", "x"],
                                  ["--input", "1,1,x"], ["--format", "xml"]])
def test_bad_input_one_error_line(args, target, tmp_path):
    import json

    p = tmp_path / "s.json"
    p.write_text(json.dumps(STRIDED))
    r = CliRunner().invoke(app, ["sizes", str(p) if target == "spec" else target, *args])
    assert r.exit_code == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
