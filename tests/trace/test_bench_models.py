"""The benchmark's models (benchmarks/trace_models.py) are what they claim to be, and the
tracer handles them: ResNet-50 as torchvision's, a nanoGPT-style decoder against a real
CPU forward, and the 13B shape on the meta device without weight memory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

import shapetrace

from .test_zoo import module_rows, oracle

_spec = importlib.util.spec_from_file_location(
    "trace_models", Path(__file__).resolve().parents[2] / "benchmarks" / "trace_models.py")
tm = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("trace_models", tm)  # dataclasses look their module up by name
_spec.loader.exec_module(tm)


def test_resnet50_is_torchvisions_shape() -> None:
    with torch.device("meta"):
        model = tm.resnet50()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032  # torchvision's resnet50
    report = shapetrace.summary(model, (1, 3, 224, 224))
    assert report.ok and report.rows[0].output_shapes == [(1, 1000)]
    assert report.totals.params == 25_557_032
    assert 4.0e9 < report.totals.macs < 4.2e9 and not report.totals.macs_partial  # ~4.1 GMACs
    adds = [r for r in report.rows if r.kind == "add_"]
    assert len(adds) == 16  # one `out += identity` per bottleneck


def test_tiny_gpt_matches_a_real_forward() -> None:
    torch.manual_seed(0)
    model = tm.gpt(tm.GPT_TINY)
    tokens = torch.randint(0, 64, (2, 16))
    report = shapetrace.summary(model, input_data=tokens)
    assert module_rows(report) == oracle(tm.gpt(tm.GPT_TINY), (tokens,), {})
    assert report.totals.params == sum(p.numel() for p in model.parameters())  # tied weight once


def test_13b_on_meta() -> None:
    model = tm.gpt13b_on_meta()
    report = shapetrace.summary(model, input_data=torch.zeros(1, 2048, dtype=torch.long, device="meta"))
    assert report.ok and report.totals.params == 12_853_626_880
    assert report.rows[0].output_shapes == [(1, 2048, 50304)]
    assert report.totals.param_bytes == 12_853_626_880 * 4
