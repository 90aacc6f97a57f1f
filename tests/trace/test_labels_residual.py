"""Residual labels come from the data flow: an add is a shortcut add, and its block a
Residual Block, only when one side is the block's input or reaches it through a shortcut
of its own; every other add (BERT's sum of embeddings, the rotary ``q * cos +
rotate_half(q) * sin``, scores + mask) is a plain add. Real models (transformers from
tiny configs, torchvision's ResNet, the seed) traced on the CPU; the table's description
column is what a user reads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace
from shapetrace import render
from shapetrace.core.spec import flow
from shapetrace.models.seed import CNNWithResidual

from .real_zoo import CASES, built

SHORTCUT, RESIDUAL, ADD = "shortcut add", "Residual Block (shortcut path)", "add"


class Descriptions(dict):
    """Row name -> the description column, as the table shows it; ``every(name)``: the
    descriptions of all the rows of that name (an op called twice in one module)."""

    def __init__(self, report) -> None:
        v = render.view(report, columns="layer,description")
        assert len(v.rows) == len(report.rows)
        self.pairs = [(r.name, vr.cells[render.Column.DESCRIPTION]) for r, vr in zip(report.rows, v.rows)]
        super().__init__(self.pairs)

    def every(self, name: str) -> list[str]:
        return [d for n, d in self.pairs if n == name]


descriptions = Descriptions


def real(name: str):
    data = CASES[name].input_data()
    kw = {"input_data": data, "device": "cpu"}
    return shapetrace.summary(built(name), **kw)


def adds(report) -> list[str]:
    """The names of the add rows (each name once)."""
    return list(dict.fromkeys(r.name for r in report.rows if r.kind in ("add", "add_")))


def test_bert_sum_of_embeddings_is_a_plain_add() -> None:
    report = real("bert")
    d = descriptions(report)
    assert d["embeddings"] != RESIDUAL
    assert d.every("embeddings.add") == [ADD] * 2  # words + token types, + positions
    # the encoder's x + sublayer(x): the residual input is passed in (input_tensor)
    for layer in range(2):
        for block in (f"encoder.layer.{layer}.attention.output", f"encoder.layer.{layer}.output"):
            assert d[block] == RESIDUAL
            assert d[block + ".add"] == SHORTCUT
        # attention scores + the broadcast mask: not two paths of one tensor
        assert d[f"encoder.layer.{layer}.attention.self.add"] == ADD


def test_llama_rotary_add_is_plain_and_decoder_adds_are_shortcuts() -> None:
    report = real("llama")
    d = descriptions(report)
    for k in range(2):
        # q and k rotated (two paths forking inside the attention), then scores + mask
        assert d.every(f"layers.{k}.self_attn.add") == [ADD] * 3
        # residual + attention, residual + MLP
        assert d.every(f"layers.{k}.add") == [SHORTCUT] * 2
        assert d[f"layers.{k}"] == RESIDUAL
        assert d.every(f"layers.{k}.input_layernorm.add") == [ADD]  # variance + eps


def test_torchvision_resnet_keeps_its_residual_labels() -> None:
    report = real("tv_resnet18")
    d = descriptions(report)
    blocks = [r.name for r in report.rows if r.kind == "BasicBlock"]
    assert len(blocks) == 8 and all(d[b] == RESIDUAL for b in blocks)
    block_adds = adds(report)
    assert len(block_adds) == 8 and all(d[n] == SHORTCUT for n in block_adds)
    # both kinds of shortcut: the identity (layer1.0) and the 1x1 downsample (layer2.0)
    assert "layer2.0.downsample" in d and d["layer2.0.add_"] == SHORTCUT


def test_the_seed_and_its_spec_keep_their_residual_labels() -> None:
    report = shapetrace.summary(CNNWithResidual(), input_size=(1, 1, 28, 28), device="cpu")
    d = descriptions(report)
    assert d["resblock1"] == d["resblock2"] == RESIDUAL
    assert d["resblock1.add"] == d["resblock2.add"] == SHORTCUT
    spec = flow({"input": [1, 8, 8, 8], "layers": [
        {"type": "Residual", "body": [{"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}]}]})
    assert list(descriptions(spec).values())[-1] == SHORTCUT


class TwoInputs(nn.Module):
    """Embeddings of two id streams summed (BERT's shape of the problem, without BERT)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Embedding(10, 4), nn.Embedding(10, 4)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(y)


class Forked(nn.Module):
    """Two branches that fork inside the block, not at its input: no shortcut."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.p, self.q = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        return self.p(h) + self.q(h)


class Wrapper(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, *a: torch.Tensor) -> torch.Tensor:
        return self.inner(*a)


@pytest.mark.parametrize("model,data", [
    (TwoInputs(), (torch.tensor([[1, 2]]), torch.tensor([[3, 4]]))),
    (Forked(), (torch.ones(1, 4),)),
], ids=["two-id-streams", "forked-inside"])
def test_adds_that_close_no_shortcut_are_plain(model: nn.Module, data: tuple) -> None:
    report = shapetrace.summary(Wrapper(model), input_data=list(data), device="cpu")
    d = descriptions(report)
    assert d["inner.add"] == ADD and d["inner"] != RESIDUAL
