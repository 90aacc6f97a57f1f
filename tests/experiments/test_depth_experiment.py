"""The depth experiment's pure parts: parsing --depths, the config's checks, the batch order,
the warm-up, the findings, the Markdown report (golden file) and the plots."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from shapetrace.core.errors import ArgumentError
from shapetrace.experiments import depth as E
from shapetrace.experiments import depth_plots, depth_report


# ----------------------------------------------------------------------------- --depths

@pytest.mark.parametrize("text, depths", [
    ("8,20,56", (8, 20, 56)), (" 8 , 20 ", (8, 20)), ("110", (110,)), ("56,8", (56, 8)),
])
def test_parse_depths(text, depths):
    assert E.parse_depths(text) == depths


@pytest.mark.parametrize("text", ["", " ", "8;20", "8 20", "8,,20", "8,20,", "eight", "8.5", "-8", "[8,20]",
                                  "0x10"])
def test_parse_depths_rejects_other_formats(text):
    with pytest.raises(ArgumentError, match="--depths must be integers separated by commas"):
        E.parse_depths(text)


@given(st.text(max_size=20))
@settings(max_examples=300, deadline=None)
def test_parse_depths_returns_ints_or_raises_argument_error(text):
    try:
        depths = E.parse_depths(text)
    except ArgumentError as e:
        assert "\n" not in str(e)
        return
    assert depths and all(isinstance(d, int) and d >= 0 for d in depths)
    assert depths == tuple(int(p.strip()) for p in text.split(","))


# ----------------------------------------------------------------------------- config

@pytest.mark.parametrize("changes, needle", [
    (dict(depths=()), "--depths is empty"),
    (dict(depths=(8, 10)), "--depths: depth 10 is not of the form 6n+2"),
    (dict(depths=(8, 8)), "--depths lists a depth twice"),
    (dict(width=0), "--width must be an integer from 1 to 1,024, got 0"),
    (dict(steps=-1), "--steps must be an integer from 1 to 10,000,000, got -1"),
    (dict(batch_size=True), "--batch-size must be an integer, got True"),
    (dict(stem_stride=3), "--stem-stride must be 1 or 2"),
    (dict(lr=0.0), "--lr must be a positive number"),
    (dict(lr=math.nan), "--lr must be a positive number"),
    (dict(warmup=1.0), "--warmup must be a fraction in [0, 1)"),
    (dict(batch_size=128, train_subset=64), "--batch-size 128 is larger than --train-subset 64"),
    (dict(threads=0), "--threads must be an integer from 1 to"),
    (dict(threads=100_000), "--threads must be an integer from 1 to"),
    (dict(depths=(8, 6_000_000_002)), "--depths: depth 6000000002 is deeper than the 1202 layers"),
    (dict(width=100_000_000), "--width must be an integer from 1 to 1,024, got 100000000"),
    (dict(seed=-1), "--seed must be a non-negative 64-bit integer"),
    (dict(seed=2 ** 64), "--seed must be a non-negative 64-bit integer"),
])
def test_config_validation_names_the_bad_option(changes, needle):
    import dataclasses

    with pytest.raises(ArgumentError) as e:
        dataclasses.replace(E.DepthConfig(), **changes).validate()
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_presets_are_valid_and_json_ready():
    import json

    for preset in E.Preset:
        d = E.PRESETS[preset].validate().to_dict()
        assert json.loads(json.dumps(d)) == d
    assert E.PRESETS[E.Preset.CPU].depths == (8, 20, 56)


def test_plan_trains_every_net_once_without_batchnorm_first():
    plan = E.plan(E.DepthConfig(depths=(20, 8)))
    assert len(plan) == len(set(plan)) == 8
    assert plan[0] == (E.Kind.PLAIN, 8, False) and plan[-1] == (E.Kind.RESIDUAL, 20, True)
    assert [p[2] for p in E.plan(E.DepthConfig(batchnorm=E.BatchNormChoice.WITH))] == [True] * 6


def test_batch_order_is_seeded_epochs_of_permutations():
    config = E.DepthConfig(steps=7, batch_size=4, train_subset=10)  # 2 batches per epoch
    order = E.batch_order(config)
    assert tuple(order.shape) == (7, 4)
    assert (order == E.batch_order(config)).all()
    for epoch in range(3):
        rows = order[2 * epoch: 2 * epoch + 2].flatten().tolist()
        assert len(rows) == len(set(rows)) and all(0 <= i < 10 for i in rows)
    import dataclasses

    assert not (order == E.batch_order(dataclasses.replace(config, seed=1))).all()


def test_learning_rate_warms_up_linearly_then_stays():
    config = E.DepthConfig(steps=100, warmup=0.1, lr=1e-3)
    assert [E._lr_at(config, s) for s in (0, 4, 9, 10, 99)] == pytest.approx([1e-4, 5e-4, 1e-3, 1e-3, 1e-3])
    assert E._lr_at(E.DepthConfig(steps=100, warmup=0.0, lr=1e-3), 0) == 1e-3


# ----------------------------------------------------------------------------- results

def fake_results() -> dict:
    """Results of the shape ``run`` returns, with fixed numbers (depths 8 and 20, both BN)."""
    runs = []
    loss = {("plain", 8): 1.2, ("plain", 20): 2.3, ("residual", 8): 1.0, ("residual", 20): 0.7}
    for bn in (False, True):
        for kind in ("plain", "residual"):
            for depth in (8, 20):
                final = loss[kind, depth] / (3 if bn else 1)
                first = 1e-9 if (kind, depth, bn) == ("plain", 20, False) else 0.5
                norms = [first] + [0.01] * (depth - 3) + [0.02, 0.05]
                steps = 10
                runs.append({
                    "name": E.run_name(kind, depth, bn), "kind": kind, "batchnorm": bn, "depth": depth,
                    "params": 1000 * depth + (10 if bn else 0), "layers": [f"l{i}" for i in range(depth)],
                    "steps_done": steps, "diverged_at": None,
                    "curve": {"loss": [2.3 - (2.3 - final) * i / (steps - 1) for i in range(steps)],
                              "accuracy": [0.1 + 0.08 * i for i in range(steps)]},
                    "grad_norm_init": norms,
                    "grad_norm_train": {"steps": [0, 5, 9], "norms": [norms, [0.0] + norms[1:], norms]},
                    "final": {"train_loss": final, "train_accuracy": 0.8, "test_loss": final + 0.1,
                              "test_accuracy": 0.75},
                    "train_time_s": 1.0, "wall_time_s": 1.5 * depth / 8,
                })
    config = E.DepthConfig(depths=(8, 20), steps=10, train_subset=1000, test_subset=500).to_dict()
    env = {"device": "cpu", "torch": "2.x", "python": "3.x", "threads": 1, "data": "/data/mnist",
           "started": "2025-01-01T00:00:00+00:00"}
    return {"schema": E.SCHEMA, "config": config, "environment": env, "runs": runs, "wall_time_s": 24.0}


def test_findings_check_both_claims():
    results = fake_results()
    f = {(x["claim"], x["batchnorm"]): x for x in E.findings(results)}
    assert f["degradation", False]["holds"] and f["degradation", True]["holds"]
    assert f["vanishing", False]["holds"] and f["vanishing", False]["plain_ratio"] == pytest.approx(1e-9 / 0.02)
    assert not f["vanishing", True]["holds"]
    # a deep residual net that trains worse than the shallow one breaks the claim
    worse = copy.deepcopy(results)
    E.find(worse, "residual", 20, True)["final"]["train_loss"] = 5.0
    assert not {(x["claim"], x["batchnorm"]): x for x in E.findings(worse)}["degradation", True]["holds"]
    # so does a diverged one (its loss is None)
    E.find(worse, "residual", 20, False)["final"]["train_loss"] = None
    assert not {(x["claim"], x["batchnorm"]): x for x in E.findings(worse)}["degradation", False]["holds"]


def test_grad_ratio_is_first_conv_over_last_conv():
    assert E.grad_ratio([1e-6, 0.5, 1e-2, 7.0]) == pytest.approx(1e-4)  # the Linear head (7.0) is left out
    assert E.grad_ratio([0.0, 1.0, 0.0, 1.0]) is None
    assert E.grad_ratio([None, 1.0, 1.0]) is None


def test_report_matches_its_golden_file(golden):
    results = fake_results()
    images = {"loss_curves": "loss_curves.png", "grad_norms_init": "grad_norms_init.png"}
    golden("depth_report.md", depth_report.render(results, images))


def test_report_marks_diverged_nets():
    results = fake_results()
    r = E.find(results, "residual", 20, False)
    r["diverged_at"], r["final"]["train_loss"] = 3, None
    table = depth_report.results_table(results)
    assert "| residual-20 | no | 20 | 20,000 | n/a (diverged) (diverged at step 3) |" in table


def test_moving_average():
    assert depth_plots.moving_average([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]
    out = depth_plots.moving_average([1, None, 3, 4, 5], 2)
    assert out[0] == 1 and math.isnan(out[1]) and math.isnan(out[2]) and out[3:] == [3.5, 4.5]


def test_loss_axis_ignores_a_huge_start():
    exploding = [1000.0, 500.0, 3.0, 2.3, 2.3, 2.3, 2.3, 2.3]
    learning = [2.3, 2.0, 1.5, 1.0, 0.8, 0.6, 0.5, 0.4]
    assert depth_plots.loss_axis_top([exploding, learning]) == pytest.approx(3.3)
    assert depth_plots.loss_axis_top([learning, [math.nan] * 8]) == 2.6  # never below ln(10) + margin


def test_median_train_norms():
    r = E.find(fake_results(), "plain", 8, False)
    med = depth_plots.median_train_norms(r)
    assert med[0] == 0.5 and med[1:] == r["grad_norm_init"][1:]


def test_plots_are_small_pngs(tmp_path):
    paths = depth_plots.write_all(fake_results(), tmp_path)
    assert sorted(p.name for p in paths.values()) == ["grad_norms_init.png", "grad_norms_train.png",
                                                      "loss_curves.png"]
    for p in paths.values():
        with Image.open(p) as img:
            assert img.format == "PNG" and img.size[0] > 500 and img.size[1] > 400
        assert p.stat().st_size < 120_000
    assert not list(tmp_path.glob(".*.tmp"))  # written through temp files, none left behind
    with pytest.raises(ValueError):
        depth_plots.plot_grad_norms(fake_results(), tmp_path / "x.png", which="final")


def test_a_diverging_net_is_recorded_and_reported(tmp_path):
    """A learning rate of 1e30 makes the loss non-finite at step 1: training stops there, the
    results stay valid JSON (null for non-finite numbers), the report and plots still render."""
    import json

    import torch

    from shapetrace.data.mnist import load_sample

    threads = torch.get_num_threads()
    config = E.DepthConfig(depths=(8,), width=2, steps=8, batch_size=16, train_subset=64, test_subset=32,
                           grad_every=3, probe_size=16, optimizer=E.Optimizer.sgd, lr=1e30, warmup=0.0,
                           batchnorm=E.BatchNormChoice.WITHOUT)
    results = E.run(config, load_sample())
    assert torch.get_num_threads() == threads  # restored after the run
    for r in results["runs"]:
        assert r["diverged_at"] == 1 and r["curve"]["loss"][0] > 0 and r["curve"]["loss"][1] is None
        assert r["steps_done"] == 4 and r["final"]["train_loss"] is None  # stopped at the check of step 3
    json.loads(json.dumps(results, allow_nan=False))
    assert "n/a (diverged) (diverged at step 1)" in depth_report.render(results)
    assert len(depth_plots.write_all(results, tmp_path)) == 3
