"""TrainConfig: one frozen dataclass; presets, optimizer defaults, validation, round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest

from shapetrace.core.errors import ArgumentError
from shapetrace.train.config import PRESETS, Device, Optimizer, Schedule, TrainConfig


def test_defaults_are_the_documented_recipe():
    c = TrainConfig.from_preset()
    assert (c.epochs, c.batch_size, c.optimizer, c.schedule) == (4, 256, Optimizer.adamw, Schedule.onecycle)
    assert (c.lr, c.weight_decay, c.label_smoothing, c.shift, c.batchnorm) == (2e-3, 5e-2, 0.1, 2, False)
    assert c == TrainConfig()


def test_frozen():
    c = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.epochs = 3  # type: ignore[misc]


def test_sprint_preset():
    c = TrainConfig.from_preset("sprint")
    assert (c.epochs, c.batch_size, c.train_subset, c.preset) == (1, 64, 40_000, "sprint")
    assert c.lr == 2e-3 and c.schedule == TrainConfig().schedule  # the default recipe, compressed
    assert TrainConfig.from_preset("sprint", train_subset=None).train_subset == 40_000  # None: not given
    assert TrainConfig.from_preset("sprint", sample=True).batch_size == 64


def test_presets_and_overrides():
    assert TrainConfig.from_preset("long").epochs == PRESETS["long"]["epochs"]
    c = TrainConfig.from_preset("long", epochs=3, lr=None)
    assert c.epochs == 3 and c.lr == 2e-3 and c.preset == "long"


def test_optimizer_brings_its_lr_and_decay_unless_given():
    sgd = TrainConfig.from_preset(optimizer="sgd")
    assert sgd.optimizer is Optimizer.sgd and (sgd.lr, sgd.weight_decay) == (5e-2, 5e-4)
    assert TrainConfig.from_preset(optimizer="sgd", lr=0.1).lr == 0.1


def test_sample_brings_small_batches_unless_given():
    assert (TrainConfig.from_preset(sample=True).batch_size, TrainConfig.from_preset(sample=True).epochs) == (64, 12)
    assert TrainConfig.from_preset(sample=True, batch_size=32).batch_size == 32


def test_strings_become_enums_at_the_edge():
    c = TrainConfig(optimizer="sgd", schedule="cosine", device="cpu")
    assert (c.optimizer, c.schedule, c.device) == (Optimizer.sgd, Schedule.cosine, Device.cpu)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "--epochs must be an integer from 1 to 10,000, got 0"),
    ({"batch_size": 0}, "--batch-size must be an integer from 1 to"),
    ({"lr": 0.0}, "--lr must be positive"),
    ({"lr": -1.0}, "--lr must be positive"),
    ({"weight_decay": -0.1}, "--weight-decay must be 0 or more"),
    ({"momentum": 1.0}, "--momentum must be in [0, 1)"),
    ({"warmup": 1.0}, "--warmup must be in [0, 1)"),
    ({"label_smoothing": 1.0}, "--label-smoothing must be in [0, 1)"),
    ({"shift": 9}, "--shift must be an integer from 0 to 8"),
    ({"shift": -1}, "--shift must be an integer from 0 to 8"),
    ({"train_subset": 0}, "--train-subset must be an integer from 1 to"),
    ({"threads": 0}, "--threads must be an integer from 1 to"),
    ({"optimizer": "adagrad"}, "--optimizer must be one of adam, adamw, sgd, got 'adagrad'"),
    ({"schedule": "step"}, "--schedule must be one of onecycle, cosine, constant"),
    ({"device": "tpu"}, "--device must be one of auto, cpu, cuda"),
    ({"sample": True, "data": "/x"}, "--sample and --data exclude each other"),
    ({"preset": "fast"}, "--preset must be one of default, long"),
])
def test_bad_values_are_one_line_errors(kwargs, message):
    with pytest.raises(ArgumentError) as info:
        TrainConfig(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_unknown_preset_and_optimizer_in_from_preset():
    with pytest.raises(ArgumentError, match="--preset must be one of"):
        TrainConfig.from_preset("nope")
    with pytest.raises(ArgumentError, match="--optimizer must be one of"):
        TrainConfig.from_preset(optimizer="lion")


def test_dict_round_trip_is_plain_json():
    c = TrainConfig.from_preset("long", optimizer="sgd", schedule="cosine", train_subset=100)
    d = c.to_dict()
    assert json.loads(json.dumps(d)) == d and d["optimizer"] == "sgd"
    assert TrainConfig.from_dict(d) == c
    with pytest.raises(ArgumentError, match="unknown training config keys: bogus"):
        TrainConfig.from_dict({**d, "bogus": 1})
