"""Specs: parsing (every malformed input is a one-line SpecError), the flow, and torch as oracle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetrace.core.errors import SpecError
from shapetrace.core.records import Report
from shapetrace.core.spec import Spec, flow, load_spec, parse_spec, parse_text
from shapetrace.models.seed import CNNWithResidual

from .spec_torch import run as run_in_torch

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "shapetrace" / "examples"


def _hook_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [m.register_forward_hook(lambda mod, inp, out, n=name: shapes.__setitem__(n, tuple(out.shape)))
               for name, m in model.named_modules() if name]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return shapes


# ----------------------------------------------------------------------------- the seed


def test_seed_spec_matches_the_seed_model_row_by_row():
    report = flow(load_spec(EXAMPLES / "seed.yaml"))
    assert report.error is None
    rows = {r.name: r for r in report.rows}
    torch_shapes = _hook_shapes(CNNWithResidual(), torch.zeros(1, 1, 28, 28))
    for name in ["conv1", "resblock1", "resblock1.conv1", "resblock1.conv2", "resblock1.shortcut",
                 "resblock2", "resblock2.conv1", "resblock2.conv2", "resblock2.shortcut", "fc1", "fc2"]:
        assert rows[name].output_shapes == [torch_shapes[name]], name
    assert rows["pool3"].output_shapes == [(1, 128, 3, 3)]
    assert rows["flatten"].output_shapes == [(1, 1152)]
    assert rows["fc1"].kwargs["in_features"] == 1152  # inferred, not the seed's 6272
    assert report.rows[-1].output_shapes == [(1, 10)]
    seed_params = sum(p.numel() for p in CNNWithResidual().parameters())
    assert report.totals.params == seed_params
    assert sum(r.params for r in report.rows) == seed_params


def test_seed_spec_rows_are_in_pre_order_with_depths():
    report = flow(load_spec(EXAMPLES / "seed.yaml"))
    names = [(r.name, r.depth, r.kind) for r in report.rows]
    i = names.index(("resblock1", 0, "Residual"))
    assert names[i + 1:i + 6] == [("resblock1.conv1", 1, "Conv2d"), ("resblock1.relu", 1, "ReLU"),
                                  ("resblock1.conv2", 1, "Conv2d"), ("resblock1.shortcut", 1, "Conv2d"),
                                  ("resblock1.add", 1, "add")]
    assert not report.rows[i].leaf and report.rows[i + 1].leaf
    add = report.rows[i + 5]
    assert add.is_op and add.input_shapes == [(1, 64, 14, 14), (1, 64, 14, 14)]


def test_totals_add_up_over_leaves():
    report = flow(load_spec(EXAMPLES / "seed.yaml"))
    leaves = [r for r in report.rows if r.leaf]
    assert report.totals.macs == sum(r.macs for r in leaves)
    assert report.totals.activation_bytes == sum(r.output_bytes for r in leaves)
    assert report.totals.param_bytes == 4 * report.totals.params
    assert report.totals.input_bytes == 28 * 28 * 4


def test_report_json_round_trip():
    report = flow(load_spec(EXAMPLES / "seed.yaml"))
    d = report.to_dict()
    again = Report.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    assert set(d) >= {"rows", "totals", "warnings", "error"}


def test_spec_to_dict_round_trip():
    spec = load_spec(EXAMPLES / "seed.yaml")
    assert parse_spec(spec.to_dict()) == spec


def test_json_and_yaml_specs_are_one_schema(tmp_path):
    spec = load_spec(EXAMPLES / "seed.yaml")
    p = tmp_path / "seed.json"
    p.write_text(json.dumps(spec.to_dict()))
    assert load_spec(p) == spec


# ----------------------------------------------------------------------------- inference and checks


def test_given_in_channels_are_checked_and_the_error_names_the_layer_and_fix():
    report = flow({"input": [1, 3, 8, 8], "layers": [
        {"type": "Conv2d", "name": "a", "out_channels": 4, "kernel_size": 3},
        {"type": "Conv2d", "name": "b", "in_channels": 5, "out_channels": 4, "kernel_size": 3}]})
    assert [r.name for r in report.rows] == ["a"]
    err = report.error
    assert err.row == "b" and err.kind == "Conv2d"
    assert "5" in err.message and "4" in err.message
    assert err.fixes == ["in_channels=4", "leave in_channels out: the spec reads it off the input"]


def test_the_seeds_linear_is_diagnosed_with_the_arithmetic():
    report = flow(load_spec(EXAMPLES / "seed-verbatim.yaml"))
    err = report.error
    assert err.row == "fc1" and err.expected == (1, 6272) and err.actual == (1, 1152)
    assert err.arithmetic == ["1152 = 128 x 3 x 3: the flattened (128, 3, 3)",
                              "6272 = 128 x 7 x 7: what in_features assumes",
                              "7 x 7 is the map after `resblock2`; `pool3` then makes it 3 x 3"]
    assert err.fixes[0] == "in_features=1152"
    assert report.rows[-1].name == "flatten"


def test_residual_mismatch_is_diagnosed_with_a_shortcut_fix():
    report = flow({"input": [1, 32, 14, 14], "layers": [
        {"type": "Residual", "name": "block", "body": [
            {"type": "Conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1}]}]})
    err = report.error
    assert err.row == "block.add"
    assert err.expected == (1, 64, 14, 14) and err.actual == (1, 32, 14, 14)
    assert any("Conv2d(32, 64, kernel_size=1)" in f for f in err.fixes)


def test_residual_spatial_mismatch_suggests_a_strided_shortcut():
    report = flow({"input": [1, 8, 16, 16], "layers": [
        {"type": "Residual", "name": "down", "body": [
            {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "stride": 2}],
         "shortcut": [{"type": "Conv2d", "out_channels": 8, "kernel_size": 1}]}]})
    assert report.error.row == "down.add"
    assert any("stride=2" in f for f in report.error.fixes)


def test_residual_broadcasts_like_torch():
    # (1, 8, 4, 4) + (1, 1, 4, 4) broadcasts in torch
    report = flow({"input": [1, 8, 4, 4], "layers": [
        {"type": "Residual", "body": [{"type": "Conv2d", "out_channels": 8, "kernel_size": 1}],
         "shortcut": [{"type": "Conv2d", "out_channels": 1, "kernel_size": 1}]}]})
    assert report.error is None
    assert report.rows[-1].output_shapes == [(1, 8, 4, 4)]


def test_concat_adds_channels_and_checks_other_dims():
    ok = flow({"input": [2, 4, 8, 8], "layers": [{"type": "Concat", "name": "c", "dim": 1, "branches": [
        [{"type": "Conv2d", "out_channels": 3, "kernel_size": 1}],
        [{"type": "Conv2d", "out_channels": 5, "kernel_size": 3, "padding": 1}],
        []]}]})
    assert ok.error is None
    assert ok.rows[0].output_shapes == [(2, 12, 8, 8)]
    cat = [r for r in ok.rows if r.kind == "cat"][0]
    assert cat.input_shapes == [(2, 3, 8, 8), (2, 5, 8, 8), (2, 4, 8, 8)]
    bad = flow({"input": [2, 4, 8, 8], "layers": [{"type": "Concat", "name": "c", "branches": [
        [{"type": "Conv2d", "out_channels": 3, "kernel_size": 3}],
        [{"type": "Conv2d", "out_channels": 5, "kernel_size": 1}]]}]})
    assert bad.error.row == "c.cat"
    assert "(2, 3, 6, 6)" in bad.error.message and "(2, 5, 8, 8)" in bad.error.message
    out_of_range = flow({"input": [2, 4, 8, 8], "layers": [{"type": "Concat", "dim": 4, "branches": [[], []]}]})
    assert "dim 4 is out of range" in out_of_range.error.message


def test_sequential_groups_rows_under_its_name():
    report = flow({"input": [1, 1, 8, 8], "layers": [{"type": "Sequential", "name": "stem", "layers": [
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
        {"type": "Conv2d", "name": "second", "out_channels": 2, "kernel_size": 3}]}]})
    assert [(r.name, r.depth) for r in report.rows] == [("stem", 0), ("stem.0", 1), ("stem.second", 1)]
    assert report.rows[0].output_shapes == [(1, 2, 4, 4)]


def test_error_stops_the_flow_and_keeps_rows_before_it():
    report = flow({"input": [1, 1, 5, 5], "layers": [
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 5},
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 1}]})
    assert len(report.rows) == 1
    assert report.error.row == "1"
    assert "kernel_size 5" in report.error.message and "3" in report.error.message
    assert report.totals.params == report.rows[0].params


# ----------------------------------------------------------------------------- malformed specs


@pytest.mark.parametrize("data, words", [
    ([1, 2], "must be a mapping"),
    ({"layers": []}, "missing 'input'"),
    ({"input": [1, 3]}, "missing 'layers'"),
    ({"input": "1,3", "layers": []}, "input must be a non-empty list"),
    ({"input": [1, -3], "layers": []}, "sizes must be positive"),
    ({"input": [1, 0], "layers": []}, "sizes must be positive"),
    ({"input": [1, 2.5], "layers": []}, "must hold integers"),
    ({"input": [1, True], "layers": []}, "must hold integers"),
    ({"input": [1] * 9, "layers": []}, "at most 8"),
    ({"input": [1, 3], "layers": {}}, "must be a list of layers"),
    ({"input": [1, 3], "layers": [3]}, "layers[0] must be a mapping"),
    ({"input": [1, 3], "layers": [{"out_features": 3}]}, "has no 'type'"),
    ({"input": [1, 3], "layers": [{"type": 3}]}, "type must be a string"),
    ({"input": [1, 3], "layers": [{"type": "Linaer"}]}, "did you mean Linear"),
    ({"input": [1, 3], "layers": [{"type": "Conv2d", "kernal_size": 3}]}, "did you mean 'kernel_size'"),
    ({"input": [1, 3], "layers": [{"type": "Conv2d", "name": "a.b"}]}, "without dots"),
    ({"input": [1, 3], "layers": [{"type": "Residual"}]}, "missing 'body'"),
    ({"input": [1, 3], "layers": [{"type": "Residual", "body": []}]}, "'body' is empty"),
    ({"input": [1, 3], "layers": [{"type": "Residual", "body": [{"type": "ReLU"}], "skip": []}]},
     "unknown key 'skip'"),
    ({"input": [1, 3], "layers": [{"type": "Concat", "branches": 3}]}, "'branches' must be a list"),
    ({"input": [1, 3], "layers": [{"type": "Concat", "dim": "1", "branches": [[]]}]}, "dim must be an integer"),
    ({"input": [1, 3], "dtype": "float8", "layers": []}, "dtype must be one of"),
    ({"input": [1, 3], "name": "", "layers": []}, "name must be a non-empty string"),
    ({"input": [1, 3], "dtype": {}, "layers": []}, "dtype must be one of"),
    ({"input": [1, 3], "layers": [{"type": "Relu"}]}, "did you mean ReLU"),
    ({"input": [1, 3], "layers": [{"type": "nn.Flaten"}]}, "unknown layer type 'nn.Flaten'"),
    ({"input": [1, 3, 4, 4], "layers": [{"type": "Residual", "body": [{"type": "ReLU", "name": "add"}]}]},
     "is taken by the block's own add row"),
    ({"input": [1, 3], "layers": [{"type": "Conv2d", "name": "x"}, {"type": "Conv2d", "name": "x"}]},
     "duplicate layer name 'x'"),
])
def test_malformed_specs_are_one_line_spec_errors(data, words):
    with pytest.raises(SpecError) as e:
        parse_spec(data)
    assert words in str(e.value)
    assert "\n" not in str(e.value)


def test_nesting_is_bounded():
    node: dict = {"type": "ReLU"}
    for _ in range(100):
        node = {"type": "Sequential", "layers": [node]}
    with pytest.raises(SpecError, match="nested more than"):
        parse_spec({"input": [1, 3], "layers": [node]})


def test_invalid_yaml_names_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("input: [1, 3]\nlayers:\n  - {type: Linear, out_features: 3\n")
    with pytest.raises(SpecError, match=r"invalid YAML at line \d+"):
        load_spec(p)


def test_invalid_json(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"input": [1, 3], "layers": [}')
    with pytest.raises(SpecError, match="invalid JSON"):
        load_spec(p)


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


def test_yaml_aliases_are_refused():
    # a "billion laughs" file would repeat a subtree exponentially often
    bomb = "a: &a [1, 1]\nb: &b [*a, *a]\nc: &c [*b, *b]\ninput: [1, 3]\nlayers: []\n"
    with pytest.raises(SpecError, match="aliases"):
        parse_text(bomb)


def test_nn_prefix_is_accepted():
    spec = parse_spec({"input": [1, 3], "layers": [{"type": "nn.Linear", "out_features": 2}]})
    assert flow(spec).rows[0].kind == "Linear"


def test_yaml_is_data_only():
    # a python tag must not construct anything
    with pytest.raises(SpecError):
        parse_text("!!python/object/apply:os.system ['echo hi']")


# ----------------------------------------------------------------------------- torch as the oracle

_layer = st.one_of(
    st.builds(lambda c, k, s, p, d: {"type": "Conv2d", "out_channels": c, "kernel_size": k, "stride": s,
                                     "padding": p, "dilation": d},
              st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2)),
    st.builds(lambda c, k, s, p: {"type": "Conv2d", "out_channels": c, "kernel_size": k, "stride": s,
                                  "padding": p, "groups": 1},
              st.integers(1, 4), st.tuples(st.integers(1, 3), st.integers(1, 3)), st.integers(1, 2),
              st.tuples(st.integers(0, 1), st.integers(0, 1))),
    st.builds(lambda k, s, p: {"type": "MaxPool2d", "kernel_size": k, "stride": s, "padding": p},
              st.integers(1, 3), st.integers(1, 3), st.integers(0, 1)),
    st.builds(lambda k, s, c: {"type": "AvgPool2d", "kernel_size": k, "stride": s, "ceil_mode": c},
              st.integers(1, 3), st.integers(1, 3), st.booleans()),
    st.just({"type": "ReLU"}),
    st.just({"type": "BatchNorm2d"}),
)


@st.composite
def _residual(draw):
    body = draw(st.lists(_layer, min_size=1, max_size=3))
    shortcut = draw(st.one_of(st.none(), st.lists(_layer, min_size=1, max_size=2)))
    d = {"type": "Residual", "body": body}
    if shortcut is not None:
        d["shortcut"] = shortcut
    return d


@settings(max_examples=200, deadline=None)
@given(hw=st.integers(3, 12), c=st.integers(1, 3),
       layers=st.lists(st.one_of(_layer, _residual()), min_size=1, max_size=5))
def test_random_specs_agree_with_torch(hw, c, layers):
    """Every row's shape equals torch's; where the spec fails, torch fails at the same place."""
    spec = parse_spec({"input": [2, c, hw, hw], "layers": layers})
    report = flow(spec)
    shapes, failed = run_in_torch(spec, torch.zeros(2, c, hw, hw))
    for r in report.rows:
        if r.name in shapes:
            assert r.output_shapes == [shapes[r.name]], r.name
    if failed is None:
        assert report.error is None, report.error
    else:
        assert report.error is not None, f"torch failed at {failed}, the spec did not"
        assert report.error.row == failed.where


def test_numbers_are_exact_for_big_inputs():
    report = flow({"input": [8, 3, 4096, 4096], "layers": [{"type": "Conv2d", "out_channels": 64,
                                                             "kernel_size": 7, "stride": 2, "padding": 3}]})
    assert report.rows[0].output_shapes == [(8, 64, 2048, 2048)]
    assert report.rows[0].macs == 8 * 64 * 2048 * 2048 * 3 * 49
    assert report.totals.input_bytes == 4 * 8 * 3 * 4096 * 4096
    assert math.prod(report.rows[0].output_shapes[0]) * 4 == report.rows[0].output_bytes
