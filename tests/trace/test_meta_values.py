"""A meta trace keeps the input's values (token ids, labels, index tensors, masks) and
computes the weights' side on meta: where a call mixes the two, the CPU's checks of the
values must still hold (an index out of range), and a call whose output size the values
decide must still get it (``trace/meta_values``). Real CPU forwards are the oracle: the
same verdict and every row's output shape, on meta and on the CPU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import shapetrace

from .forward_oracle import module_outputs


class Model(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn, self.layers = fn, nn.ModuleList(layers)

    def forward(self, *xs):
        return self.fn(self, *xs)


def _lin(s, x):
    return s.layers[0](x)


ids = torch.tensor
CASES = {
    "embedding past the vocabulary": (lambda s, x: s.layers[0](x), [nn.Embedding(5, 3)], [ids([[7, 1]])]),
    "embedding of -1": (lambda s, x: s.layers[0](x), [nn.Embedding(5, 3)], [ids([[-1]])]),
    "embedding in range": (lambda s, x: s.layers[0](x), [nn.Embedding(5, 3)], [ids([[4, 0]])]),
    "F.embedding past it": (lambda s, x: F.embedding(x, s.layers[0].weight), [nn.Embedding(5, 3)], [ids([[5]])]),
    "embedding_bag past it": (lambda s, x: s.layers[0](x), [nn.EmbeddingBag(5, 3)], [ids([[1, 7]])]),
    "cross_entropy label past the classes": (lambda s, x, y: F.cross_entropy(_lin(s, x), y), [nn.Linear(4, 3)],
                                             [torch.zeros(2, 4), ids([1, 3])]),
    "cross_entropy label -1": (lambda s, x, y: F.cross_entropy(_lin(s, x), y), [nn.Linear(4, 3)],
                               [torch.zeros(2, 4), ids([1, -1])]),
    "cross_entropy ignore_index": (lambda s, x, y: F.cross_entropy(_lin(s, x), y), [nn.Linear(4, 3)],
                                   [torch.zeros(2, 4), ids([1, -100])]),
    "cross_entropy own ignore_index": (lambda s, x, y: F.cross_entropy(_lin(s, x), y, ignore_index=7),
                                       [nn.Linear(4, 3)], [torch.zeros(2, 4), ids([7, 2])]),
    "nll_loss past": (lambda s, x, y: F.nll_loss(_lin(s, x), y), [nn.Linear(4, 3)], [torch.zeros(2, 4), ids([0, 5])]),
    "gather past": (lambda s, x, i: _lin(s, x).gather(1, i), [nn.Linear(4, 3)], [torch.zeros(2, 4), ids([[0], [3]])]),
    "gather in range": (lambda s, x, i: _lin(s, x).gather(1, i), [nn.Linear(4, 3)], [torch.zeros(2, 4), ids([[0], [2]])]),
    "scatter -1": (lambda s, x, i: _lin(s, x).scatter(1, i, 0.0), [nn.Linear(4, 3)], [torch.zeros(2, 4), ids([[0], [-1]])]),
    "index_select past": (lambda s, x, i: _lin(s, x).index_select(1, i), [nn.Linear(4, 3)],
                          [torch.zeros(2, 4), ids([0, 3])]),
    "index_add past": (lambda s, x, i: _lin(s, x).index_add(1, i, torch.ones(2, 1)), [nn.Linear(4, 3)],
                       [torch.zeros(2, 4), ids([3])]),
    "x[idx] past": (lambda s, x, i: _lin(s, x)[i], [nn.Linear(4, 3)], [torch.zeros(2, 4), ids([0, 2])]),
    "x[idx] of -2": (lambda s, x, i: _lin(s, x)[i], [nn.Linear(4, 3)], [torch.zeros(2, 4), ids([-2, 1])]),
    "x[mask]": (lambda s, x, m: _lin(s, x)[m], [nn.Linear(4, 3)],
                [torch.zeros(2, 4), ids([[True, False, True], [False, False, True]])]),
    "x[row mask]": (lambda s, x, m: _lin(s, x)[m], [nn.Linear(4, 3)], [torch.zeros(3, 4), ids([True, False, True])]),
    "x[wrong mask]": (lambda s, x, m: _lin(s, x)[m], [nn.Linear(4, 3)], [torch.zeros(3, 4), ids([True, False])]),
    "masked_select": (lambda s, x, m: _lin(s, x).masked_select(m), [nn.Linear(4, 3)],
                      [torch.zeros(2, 4), ids([[True, False, True], [True, True, True]])]),
    "repeat_interleave": (lambda s, x, r: _lin(s, x).repeat_interleave(r, dim=0), [nn.Linear(4, 3)],
                          [torch.zeros(2, 4), ids([1, 3])]),
    "repeat_interleave wrong": (lambda s, x, r: _lin(s, x).repeat_interleave(r, dim=0), [nn.Linear(4, 3)],
                                [torch.zeros(2, 4), ids([1, 3, 1])]),
}


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", list(CASES))
def test_the_inputs_values_are_checked_as_the_cpu_checks_them(name, device) -> None:
    fn, layers, xs = CASES[name]
    model = Model(fn, *layers)
    want = module_outputs(model, *xs)
    report = shapetrace.summary(model, input_data=list(xs), device=device)
    if want is None:
        assert not report.ok, report.rows
        return
    assert report.ok, report.error
    got = [tuple(r.output_shapes[0]) for r in report.rows if not r.is_op and r.output_shapes]
    assert sorted(got) == sorted(want)


def test_the_cpus_words() -> None:
    fn, layers, xs = CASES["cross_entropy label past the classes"]
    report = shapetrace.summary(Model(fn, *layers), input_data=list(xs), device="meta")
    assert "Target 3 is out of bounds." in report.error.message
    fn, layers, xs = CASES["embedding past the vocabulary"]
    report = shapetrace.summary(Model(fn, *layers), input_data=list(xs), device="meta")
    assert "index out of range in self" in report.error.message


def test_a_size_the_values_decided_is_said_in_the_report() -> None:
    fn, layers, xs = CASES["x[mask]"]
    report = shapetrace.summary(Model(fn, *layers), input_data=list(xs), device="meta")
    assert report.rows[-1].output_shapes == [(3,)]
    said = [w.message for w in report.warnings if w.code == "input_values"]
    assert said and "reads tensor values (getitem x1)" in said[0] and "1 call)" in said[0]


def test_a_mask_made_from_the_weights_is_not_guessed() -> None:
    # x[logits > 0]: the mask's values come from the weights, unknown on meta; zeros in its
    # place would make an empty result silently. The meta trace says it needs the CPU.
    model = Model(lambda s, x: x[_lin(s, x).sum(1) > 0], nn.Linear(4, 3))
    with pytest.raises(shapetrace.ModelError, match="cannot run on the meta device .*device='cpu'"):
        shapetrace.summary(model, input_data=[torch.ones(3, 4)], device="meta")
    assert shapetrace.summary(model, input_data=[torch.ones(3, 4)], device="cpu").ok
