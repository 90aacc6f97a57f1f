"""The fixture zoo against real torch: every module row's output shapes equal those a real
CPU forward reports to module hooks, in the same order; params add up; meta == cpu."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace.core.records import Report

from .zoo import ZOO, make


def _flat(obj) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _flat(v)]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _flat(v)]
    return []


def oracle(model: nn.Module, args: tuple, kwargs: dict) -> list[tuple[str, list[tuple[int, ...]]]]:
    """(qualified name, output shapes) of every module call of a real CPU forward, in the order
    the calls start (pre-order). Grad stays enabled, so torch's fused fast paths (which skip
    the submodules) are off, as they are under the tracer."""
    names = {id(m): n for n, m in model.named_modules()}
    calls: list[list] = []
    stack: list[int] = []
    handles = []

    def pre(m, a):
        stack.append(len(calls))
        calls.append([names[id(m)], None])

    def post(m, a, out):
        calls[stack.pop()][1] = [tuple(t.shape) for t in _flat(out)]

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    try:
        model.eval()
        model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return [(n, shapes) for n, shapes in calls]


def module_rows(report: Report) -> list[tuple[str, list[tuple[int, ...]]]]:
    return [(r.name, [tuple(s) for s in r.output_shapes]) for r in report.rows if not r.is_op]


def unique_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(ZOO))
@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_module_rows_match_a_real_forward(name: str, device: str) -> None:
    model, kw, (args, kwargs) = make(name)
    report = shapetrace.summary(model, device=device, **kw)
    assert report.ok, report.error
    real_model, _, _ = make(name)
    expected = oracle(real_model, args, kwargs)
    assert module_rows(report) == expected
    # every row's params, counted once, add up to the model's unique parameter count
    assert sum(r.params for r in report.rows) == unique_params(real_model) == report.totals.params
    assert report.device == device


@pytest.mark.parametrize("name", sorted(ZOO))
def test_meta_and_cpu_agree_row_by_row(name: str) -> None:
    a = shapetrace.summary(make(name)[0], device="meta", **make(name)[1])
    b = shapetrace.summary(make(name)[0], device="cpu", **make(name)[1])

    def key(r):
        # An op's new bytes follow torch's aliasing: reshape copies or views depending on the
        # strides a kernel chose, which may differ between meta and CPU kernels (SDPA's output).
        return (r.name, r.kind, r.depth, r.input_shapes, r.output_shapes, r.params, r.macs,
                None if r.is_op else r.output_bytes, r.receptive_field, r.is_op, r.formulas)

    assert [key(r) for r in a.rows] == [key(r) for r in b.rows]
    assert (a.totals.params, a.totals.macs, a.totals.param_bytes) == \
        (b.totals.params, b.totals.macs, b.totals.param_bytes)


def test_op_rows_are_recorded_in_execution_order_with_context() -> None:
    model, kw, _ = make("residual")
    rows = shapetrace.summary(model, **kw).rows
    ops = [(r.name, r.kind) for r in rows if r.is_op]
    # out += identity inside each block, torch.flatten at the root
    assert ops == [("layer1.add_", "add_"), ("layer2.add_", "add_"), ("flatten", "flatten")]
    add = next(r for r in rows if r.name == "layer2.add_")
    assert add.input_shapes == [(2, 32, 8, 8), (2, 32, 8, 8)]
    assert add.output_bytes == 0  # in place: no new memory
    assert add.depth == next(r for r in rows if r.name == "layer2").depth + 1


def test_functional_ops_and_their_costs() -> None:
    model, kw, _ = make("functional")
    rows = {r.kind: r for r in shapetrace.summary(model, **kw).rows if r.is_op}
    assert list(rows) == ["conv2d", "gelu", "max_pool2d", "interpolate", "flatten", "matmul", "softmax"]
    assert rows["conv2d"].macs == 2 * 6 * 8 * 8 * 3 * 3 * 3  # out elements x (C_in/groups x k x k)
    assert rows["matmul"].macs == 2 * 7 * 96
    assert rows["gelu"].macs == 0
    # functional layers get the core's formula and receptive field, like their modules
    assert [f.worked for f in rows["conv2d"].formulas] == ["floor((8 + 2*1 - 1*(3-1) - 1) / 1) + 1"] * 2
    assert rows["conv2d"].receptive_field.size == (3, 3)
    assert rows["max_pool2d"].receptive_field.size == (4, 4) and rows["max_pool2d"].receptive_field.jump == (2, 2)


def test_densenet_concat_inputs_and_receptive_field() -> None:
    model, kw, _ = make("densenet")
    rows = shapetrace.summary(model, **kw).rows
    cats = [r for r in rows if r.kind == "cat"]
    assert [len(r.input_shapes) for r in cats] == [1, 2, 3, 4]
    assert cats[-1].output_shapes == [(2, 20, 8, 8)]
    # conv0 (3x3) then three 3x3 convs, each concat keeps the widest field
    assert cats[-1].receptive_field.size == (9, 9)


def test_unet_skip_concat_merges_receptive_fields() -> None:
    model, kw, _ = make("unet")
    rows = {r.name: r for r in shapetrace.summary(model, **kw).rows}
    cat = rows["cat"]
    assert cat.input_shapes == [(1, 8, 16, 16), (1, 8, 16, 16)]
    assert cat.receptive_field is None  # the transposed conv path is not one window


def test_tied_weights_are_counted_once_and_noted() -> None:
    model, kw, _ = make("tied")
    report = shapetrace.summary(model, **kw)
    head = next(r for r in report.rows if r.name == "lm_head")
    assert head.params == 0
    assert [n.key for n in head.notes if n.key == "tied_params"] == ["tied_params"]
    assert report.totals.params == unique_params(model)


def test_a_module_called_twice_gives_two_rows_and_counts_once() -> None:
    model, kw, _ = make("reused")
    rows = [r for r in shapetrace.summary(model, **kw).rows if r.name == "block.0"]
    assert [r.output_shapes for r in rows] == [[(1, 4, 16, 16)], [(1, 4, 8, 8)]]
    assert [r.params for r in rows] == [148, 0]


def test_uncalled_modules_params_go_to_the_caller() -> None:
    model, kw, _ = make("reused")
    root = shapetrace.summary(model, **kw).rows[0]
    assert root.params == 12  # Linear(3, 3), never called
    model, kw, _ = make("attention")
    mha = next(r for r in shapetrace.summary(model, **kw).rows if r.name == "mha")
    assert mha.params == sum(p.numel() for p in model.mha.parameters())


def test_lstm_rows_and_macs() -> None:
    model, kw, _ = make("lstm")
    rows = {r.name: r for r in shapetrace.summary(model, **kw).rows}
    assert rows["lstm"].output_shapes == [(3, 7, 24), (4, 3, 12), (4, 3, 12)]
    # 2 layers x 2 directions x 4 gates x hidden x (input + hidden), per step and sample
    per_step = 2 * 4 * 12 * (8 + 12) + 2 * 4 * 12 * (24 + 12)
    assert rows["lstm"].macs == per_step * 7 * 3


def test_integer_and_dict_inputs() -> None:
    model, kw, _ = make("dict_input")
    report = shapetrace.summary(model, **kw)
    assert report.input_shapes == [(2, 2, 21), (2, 4)]
    assert report.rows[-1].kind == "Bilinear" and report.rows[-1].output_shapes == [(2, 3)]


def test_multiple_inputs_by_size_and_dtypes() -> None:
    model, kw, _ = make("multi_input")
    report = shapetrace.summary(model, input_size=[(2, 3, 6, 6), (2, 5)], dtypes=["float32", torch.float32])
    assert report.input_shapes == [(2, 3, 6, 6), (2, 5)]
    assert report.rows[0].output_shapes == [(2, 2)]


def test_depth_folds_rows_and_keeps_the_sums() -> None:
    model, kw, _ = make("residual")
    full = shapetrace.summary(model, **kw)
    folded = shapetrace.summary(model, depth=1, **kw)
    assert max(r.depth for r in folded.rows) == 1
    assert sum(r.params for r in folded.rows) == full.totals.params
    assert sum(r.macs for r in folded.rows if r.leaf) == full.totals.macs
    assert folded.totals == full.totals
