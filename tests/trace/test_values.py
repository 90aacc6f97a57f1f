"""A meta trace keeps the input's values (trace/values.py): code that reads values computed
from the input alone (an attention mask's ``.all()``, lengths) runs, the weights stay on
meta whatever their size, and the report says what was done. Real torch on the CPU is the
oracle for shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace import render
from shapetrace.trace.failures import MetaLacksValues, ModelError
from shapetrace.trace.placement import AUTO_MAX_INPUT
from shapetrace.trace.values import MAX_VALUES

from .real_state import differences, global_state, model_state
from .real_zoo import CASES, built
from .test_zoo import module_rows, oracle


class MaskReader(nn.Module):
    """Reads its mask like transformers' mask code: skips an all-ones mask, slices to the
    longest sequence (``.item()``), builds positions with ``arange(device=x.device)``."""

    def __init__(self, vocab: int = 50, dim: int = 8, device: str | None = None) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, device=device)
        self.pos = nn.Embedding(16, dim, device=device)
        self.out = nn.Linear(dim, dim, device=device)

    def forward(self, input_ids, attention_mask):
        h = self.emb(input_ids)
        longest = int(attention_mask.sum(1).max().item())
        h, attention_mask = h[:, :longest], attention_mask[:, :longest]
        positions = torch.arange(longest, device=h.device)  # meta, like the weights' output
        h = h + self.pos(positions)
        if not attention_mask.to(h.device).bool().all():
            h = h.masked_fill(~attention_mask.to(h.device).bool()[..., None], 0.0)
        return self.out(h)


def _mask_input() -> dict[str, torch.Tensor]:
    ids = torch.arange(12).reshape(2, 6) % 50
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[0, 4:] = 0
    mask[1, 5:] = 0  # the longest sequence is 5 of 6
    return {"input_ids": ids, "attention_mask": mask}


def test_values_of_the_input_are_read_on_meta() -> None:
    model, data = MaskReader().eval(), _mask_input()
    calls = oracle(model, (), data)
    report = shapetrace.summary(model, input_data=data, device="meta")
    assert report.ok, report.error
    assert report.device == "meta"
    assert module_rows(report) == calls
    assert [r.output_shapes for r in report.rows if r.name == "out"] == [[(2, 5, 8)]]  # sliced by .item()
    said = [w for w in report.warnings if w.code == "input_values"]
    assert len(said) == 1 and ".item()" in said[0].message and "bool()" in said[0].message
    assert "weights stayed on meta" in render.table(report)


def test_a_huge_model_on_meta_reads_its_input_values() -> None:
    """Ten billion weights never materialise: they are meta, the mask is real."""
    model = MaskReader(vocab=10**9, dim=10, device="meta").eval()
    report = shapetrace.summary(model, input_data=_mask_input())
    assert report.ok, report.error
    assert report.totals.params == 10**10 + 16 * 10 + 110
    assert [w.code for w in report.warnings] == ["input_values"]


def test_no_word_about_values_when_none_is_read() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    report = shapetrace.summary(model, (2, 3, 8, 8))
    assert report.ok and report.warnings == []


class LosesValues(nn.Module):
    """A tensor made from no weight, then changed in place by a weight's output: on meta
    its values are gone, and reading them must fail as on meta, not read stale zeros."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        acc = torch.zeros(x.shape, device=x.device)
        acc.add_(self.fc(x))
        return x * 2 if acc.sum().item() > 0 else x


def test_a_value_changed_by_weights_is_no_value_any_more() -> None:
    model, x = LosesValues(), torch.ones(2, 3)  # input_data: its values are kept
    assert shapetrace.summary(model, input_data=x, device="cpu").ok
    with pytest.raises(ModelError, match="meta"):
        shapetrace.summary(model, input_data=x, device="meta")


class MovesToInput(nn.Module):
    """Moves a weight's output onto the input's device (real in a meta trace)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)

    def forward(self, ids):
        pos = self.emb(torch.arange(ids.shape[1], device=ids.device)).to(ids.device)
        return self.emb(ids) + pos


def test_a_weights_output_moved_to_the_inputs_device_stays_on_meta() -> None:
    model, ids = MovesToInput(), torch.tensor([[1, 2, 3]])
    report = shapetrace.summary(model, input_data=ids, device="meta")
    assert report.ok, report.error
    assert module_rows(report) == oracle(model, (ids,), {})


@pytest.mark.parametrize("name", ["bert", "t5", "llama"])
def test_transformers_with_an_attention_mask_on_meta(name: str, one_torch_thread) -> None:
    model = built(name)
    before_model, before_global = model_state(model), global_state()
    report = shapetrace.summary(model, input_data=CASES[name].input_data())
    assert differences(before_model, model_state(model)) == []
    assert differences(before_global, global_state()) == []
    assert report.ok, report.error
    assert all(p.is_meta is False for p in model.parameters())  # the user's weights are untouched


class WritesOut(nn.Module):
    """``torch.add(..., out=buf)`` with a weight's output: ``buf``'s values are gone on meta."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        buf = torch.zeros(x.shape, device=x.device)
        torch.add(self.fc(x), 1.0, out=buf)
        return x if buf.min().item() > 0 else x * 2


def test_a_value_written_through_out_is_no_value_any_more() -> None:
    x = torch.ones(2, 3)
    assert shapetrace.summary(WritesOut(), input_data=x, device="cpu").ok
    with pytest.raises(ModelError, match="meta"):
        shapetrace.summary(WritesOut(), input_data=x, device="meta")


def test_the_zeros_of_an_input_size_are_read_as_the_cpu_reads_them() -> None:
    """An input_size makes zeros, on the CPU too: a meta trace reads the same values (the
    mask's zeros: ``longest`` is 0), and says they were zeros. Past MAX_VALUES they are
    meta: nothing to read, and the default runs the small model on the CPU instead."""
    shapes = dict(input_size=[(2, 6), (2, 6)], dtypes=[torch.long, torch.long])
    cpu = shapetrace.summary(MaskReader(), **shapes, device="cpu")
    meta = shapetrace.summary(MaskReader(), **shapes, device="meta")
    assert cpu.ok and meta.ok, (cpu.error, meta.error)
    assert [r.output_shapes for r in meta.rows] == [r.output_shapes for r in cpu.rows]
    assert meta.rows[-1].output_shapes == [(2, 0, 8)]  # sliced to the longest sequence: 0
    (said,) = [w.message for w in meta.warnings if w.code == "input_values"]
    assert "(zeros: it was made from input_size)" in said


def test_zeros_too_big_to_keep_are_meta() -> None:
    n = MAX_VALUES // 2 + 1  # two inputs of n: past MAX_VALUES together
    shapes = dict(input_size=[(1, n), (1, n)], dtypes=[torch.long, torch.long])
    with pytest.raises(ModelError, match="meta"):
        shapetrace.summary(MaskReader(), **shapes, device="meta")
    # The default would run a small model on the CPU, but not an input past AUTO_MAX_INPUT:
    # it says what to pass instead of guessing.
    assert n * 2 > AUTO_MAX_INPUT
    with pytest.raises(MetaLacksValues, match="device='cpu'"):
        shapetrace.summary(MaskReader(), **shapes)


class CopiesTo(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        # .to(..., copy=True) is legal torch; the value path's argument parser refused copy=
        y = x.to(self.lin.weight.device, copy=True).to(torch.float32, copy=True)
        return self.lin(y)


def test_to_with_copy_traces_on_meta_with_values() -> None:
    model, x = CopiesTo(), torch.ones(2, 4)
    report = shapetrace.summary(model, input_data=x)
    assert report.ok, report.error
    assert module_rows(report) == oracle(model, (x,), {})


class OwnConstants(nn.Module):
    """Tensors the forward makes itself on the default device (the CPU): a constant it adds,
    one whose value it reads, and a layer it builds on its first call."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x) + torch.ones(4)  # a (4,) CPU tensor meets the meta output
        if torch.ones(3).sum().item() > 0:  # a value of its own, not the input's
            y = y * torch.arange(4.0)
        extra = nn.Linear(4, 2)  # made as it runs: CPU weights, meta input
        return extra(y)


@pytest.mark.parametrize("given", ["input_size", "input_data"])
def test_a_forwards_own_cpu_tensors_meet_meta_ones(given: str) -> None:
    """Without the input's values kept (``input_size``) too: torch refuses to mix CPU and
    meta tensors, which the meta trace once reported as a shape error ("cannot add (1, 4)
    and (4,)")."""
    torch.manual_seed(0)
    model, x = OwnConstants(), torch.randn(2, 4)
    kw = {"input_size": (2, 4)} if given == "input_size" else {"input_data": x}
    report = shapetrace.summary(model, **kw)
    assert report.ok, report.error
    assert report.rows[-1].output_shapes == [(2, 2)]
    assert module_rows(report) == oracle(model, (x,), {})
    said = [w.message for w in report.warnings if w.code == "input_values"]
    if given == "input_size":  # its own constant was read; the input, made zeros, is said as such
        assert len(said) == 1 and "(zeros: it was made from input_size)" in said[0]
