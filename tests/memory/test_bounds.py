"""Rows whose figure is only a bound are marked: oneDNN's LSTM workspace too large to size on
the CPU backend (a lower bound), and --device cuda where this torch has no CUDA build (computed
on meta: cuDNN's reserve space not counted, attention by the math path an upper bound)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.memory import backends
from shapetrace.memory.options import MemoryUsageError
from shapetrace.memory.records import Bound
from shapetrace.render import memory as render


def test_an_lstm_too_large_to_probe_is_a_lower_bound():
    lstm = nn.LSTM(256, 256, batch_first=True)
    # 8 x 500 steps x (2 x 262144 weights) x 2 FLOPs is past the probe's limit
    assert 2 * 8 * 500 * sum(p.numel() for n, p in lstm.named_parameters() if "weight" in n) > backends.PROBE_FLOPS
    r = shapetrace.train_memory(lstm, (8, 500, 256))
    assert r.rows[0].bound is Bound.LOWER and r.rows[0].note == "rnn_workspace_unsized"
    assert "lower_bound" in r.notes
    text = render.text(r, "LSTM")
    assert ">= " in text and "oneDNN's RNN workspace is not counted" in text
    small = shapetrace.train_memory(nn.LSTM(16, 32, batch_first=True), (2, 10, 16))
    assert small.rows[0].bound is Bound.EXACT  # sized by the real kernel (test_oracle checks the bytes)


def test_cuda_without_a_cuda_build_is_marked():
    tel = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
    r = shapetrace.train_memory(tel, (2, 10, 32), device="cuda")
    lstm = shapetrace.train_memory(nn.LSTM(16, 32, batch_first=True), (2, 10, 16), device="cuda")
    if backends.cuda_fake_ok():  # a CUDA build: fake CUDA tensors take CUDA's kernel choices
        assert r.computed_on == "cuda" and "cuda_on_meta" not in r.notes
        return
    assert r.computed_on == "meta" and "cuda_on_meta" in r.notes
    assert {row.name: row.bound for row in r.rows}["self_attn"] is Bound.UPPER
    assert lstm.rows[0].bound is Bound.LOWER and lstm.rows[0].note == "cudnn_reserve_unsized"
    assert "computed on meta" in render.text(lstm, "LSTM")
    assert torch.device("cpu") == next(tel.parameters()).device  # the model stays where it was


def test_cuda_storages_take_whole_allocator_blocks(monkeypatch):
    from .models import mlp

    cpu = shapetrace.train_memory(mlp(), (4, 32), optimizer="sgd")
    cuda = shapetrace.train_memory(mlp(), (4, 32), optimizer="sgd", device="cuda")
    # biases of 32 B, activations of 1 KiB: on CUDA each takes a multiple of 512 B, as MemTracker counts them
    assert all(v % 512 == 0 for v in cuda.step.phase_peaks.values()) and cuda.peak > cpu.peak
    assert (cuda.params, cuda.saved_activations) == (cpu.params, cpu.saved_activations)  # bytes asked
    monkeypatch.setenv("PYTORCH_NO_CUDA_MEMORY_CACHING", "1")
    assert backends.allocation_block("cuda") == 1 and backends.allocation_block("cpu") == 1


def test_amp_for_cuda_needs_a_cuda_build():
    from .models import mlp

    if backends.cuda_fake_ok():  # autocast runs on fake CUDA tensors there
        assert shapetrace.train_memory(mlp(), (4, 32), amp=True, device="cuda").dtype == "float16"
        return
    with pytest.raises(MemoryUsageError, match="needs a torch built with CUDA"):
        shapetrace.train_memory(mlp(), (4, 32), amp=True, device="cuda")


@pytest.mark.parametrize("value, block", [("", 512), ("0", 512), ("1", 1), ("true", 1), (" yes ", 1)])
def test_the_uncached_cuda_setting_is_read_as_torch_sets_it(value, block, monkeypatch):
    # a value that is not a number ("true") raised ValueError
    monkeypatch.setenv("PYTORCH_NO_CUDA_MEMORY_CACHING", value)
    assert backends.allocation_block("cuda") == block
