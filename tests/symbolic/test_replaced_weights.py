"""A model whose layer's weights no longer match its arguments (pruned by hand): torch
computes with the weights, so the engine models the layer with the arguments the weights
belong to (exact), and where no arguments make them the layer is not modelled and the
answer is probed with the real tracer; the example the user gave is always among the
probed sizes. Brute force (a real CPU forward at each size) is the oracle."""

from __future__ import annotations

import torch
from torch import nn

import shapetrace.core.symbolic as sym
from shapetrace.trace.symbolic_probe import analyze_model

from .oracle import forward_accepts


def _pruned() -> nn.Module:
    m = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(5 * 4, 2))
    m[0].weight = nn.Parameter(torch.randn(5, 1, 3, 3))
    m[0].bias = nn.Parameter(torch.randn(5))
    return m


def _accepted(res, pt) -> bool:
    return any(all(lo <= x <= hi for x, (lo, hi) in zip(pt, box)) for box in res.boxes)


def _agrees_with_torch(m: nn.Module, res, example_taken: bool = True) -> None:
    sizes = res.probed["sizes"] if res.probed else (range(1, 13), range(1, 13))
    for h in sizes[0]:
        for w in sizes[1]:
            assert _accepted(res, (h, w)) == forward_accepts(m, (1, 1, 8, 8), (2, 3), (h, w)), (h, w)
    assert _accepted(res, (8, 8)) == example_taken


def test_a_pruned_layer_is_modelled_with_the_arguments_its_weights_belong_to() -> None:
    m = _pruned()
    res = analyze_model(m, (1, 1, 8, 8), max_size=12)
    # modelled from out_channels=8 it said the Linear (20 inputs) never fits: no size at all
    assert res.exact
    _agrees_with_torch(m, res)


def test_a_pruned_input_side_is_modelled_too() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    m[0].weight = nn.Parameter(torch.randn(4, 1, 3, 3))  # 1 of 3 input channels kept
    res = analyze_model(m, (1, 1, 8, 8), max_size=12)
    assert res.exact and res.error is None  # the rule said "expected input with 3 channels"
    _agrees_with_torch(m, res)


def test_weights_no_arguments_make_are_probed_and_the_answer_is_torchs() -> None:
    m = _pruned()
    m[4].bias = nn.Parameter(torch.randn(1, 2))  # a bias torch broadcasts; no Linear holds it
    res = analyze_model(m, (1, 1, 8, 8), max_size=12)
    assert not res.exact and "Linear (its weights fit no arguments)" in res.probed["op"]
    _agrees_with_torch(m, res)


def test_an_untouched_model_stays_exact() -> None:
    m = _pruned()
    m[0] = nn.Conv2d(1, 5, 3)
    assert analyze_model(m, (1, 1, 8, 8), max_size=12).exact


def test_thinned_samples_keep_the_example(monkeypatch) -> None:
    # With few probes allowed the samples were thinned to every other size, which could
    # leave out the user's own input: "your input" then read "raises" for one torch takes.
    monkeypatch.setattr(sym, "MAX_PROBES", 30)
    for example in (8, 10, 13, 31, 100):
        res = sym.probe((1, 3, example, example), (2, 3), ("H", "W"), 4096,
                        lambda pt, e=example: pt == (e, e), "op")
        assert example in res.probed["sizes"][0] and example in res.probed["sizes"][1]
        assert _accepted(res, (example, example))
        assert len(res.probed["sizes"][0]) * len(res.probed["sizes"][1]) <= 30 or \
            all(len(p) <= 5 for p in res.probed["sizes"])


def test_thinning_ends_when_nothing_is_left_to_drop(monkeypatch) -> None:
    monkeypatch.setattr(sym, "MAX_PROBES", 1)  # it looped for ever once every axis had 4 sizes
    res = sym.probe((1, 3, 8, 8), (2, 3), ("H", "W"), 4096, lambda pt: True, "op")
    assert all(len(p) <= 5 for p in res.probed["sizes"])


def test_weights_torch_refuses_at_every_size_accept_no_size() -> None:
    m = _pruned()
    m[0].bias = nn.Parameter(torch.randn(8))  # the old bias: torch's CPU kernel refuses it, its meta kernel not
    res = analyze_model(m, (1, 1, 8, 8), max_size=12)
    assert res.exact and not res.boxes and "0: Conv2d: the bias of shape (8,) does not fit the weight" in res.error
    _agrees_with_torch(m, res, example_taken=False)


class _FunctionalConv(nn.Module):
    def __init__(self, bias: int):
        super().__init__()
        self.w = nn.Parameter(torch.randn(5, 1, 3, 3))
        self.b = nn.Parameter(torch.randn(bias))

    def forward(self, x):
        return torch.nn.functional.conv2d(x, self.w, self.b)


def test_a_functional_convolution_torch_refuses_accepts_no_size() -> None:
    # modelled from the weight alone it took every size from 3 up
    res = analyze_model(_FunctionalConv(8), (1, 1, 8, 8), max_size=12)
    assert res.exact and not res.boxes and "conv2d: the bias of shape (8,)" in res.error
    _agrees_with_torch(_FunctionalConv(8), res, example_taken=False)
    _agrees_with_torch(_FunctionalConv(5), analyze_model(_FunctionalConv(5), (1, 1, 8, 8), max_size=12))
