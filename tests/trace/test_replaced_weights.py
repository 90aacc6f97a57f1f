"""A layer whose weights no longer match its arguments (pruned by hand: ``conv.weight =
nn.Parameter(smaller)`` with ``out_channels`` left as it was; ``w.data = ...`` in a forward):
torch computes with the weights, so the trace must too, on every device. The core's rule
reads the arguments; the meta trace took its shape from it (8 channels where torch makes 5)
and the CPU trace its MACs. Real torch on the CPU is the oracle."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace


def _pruned_conv() -> nn.Module:
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 6 * 6, 2))
    m[0].weight = nn.Parameter(torch.randn(5, 3, 3, 3))
    m[0].bias = nn.Parameter(torch.randn(5))
    return m


def _pruned_linear() -> nn.Module:
    m = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(3, 2))
    m[0].weight = nn.Parameter(torch.randn(3, 4))
    m[0].bias = None
    return m


def _wider_embedding() -> nn.Module:
    m = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(2 * 6, 3))
    m[0].weight = nn.Parameter(torch.randn(10, 6))
    return m


def _narrow_bias() -> nn.Module:  # torch rejects it: the bias is the old size
    m = nn.Sequential(nn.Linear(4, 6))
    m[0].weight = nn.Parameter(torch.randn(3, 4))
    return m


class SetsData(nn.Module):
    """A forward that sets a weight's data to a tensor of its own making (CPU-made)."""

    def __init__(self, rows: int):
        super().__init__()
        self.rows = rows
        self.l = nn.Linear(4, rows)
        self.l.bias = None

    def forward(self, x):
        self.l.weight.data = torch.zeros(self.rows - 1, 4)
        return self.l(x)


CASES = {
    "pruned_conv": (_pruned_conv, (1, 3, 8, 8), None),
    "pruned_linear": (_pruned_linear, (2, 4), None),
    "wider_embedding": (_wider_embedding, (2, 2), torch.long),
    "narrow_bias": (_narrow_bias, (2, 4), None),
    "sets_data": (lambda: SetsData(5), (2, 4), None),
}


def _oracle(model: nn.Module, x: torch.Tensor):
    """Each module's output shapes from a real CPU forward, or None when torch raises."""
    seen: list = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append([tuple(o.shape)])) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x)
    except RuntimeError:
        return None
    finally:
        for h in hooks:
            h.remove()
    return seen


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_layer_whose_weights_left_its_arguments_traces_as_torch_runs_it(name, device) -> None:
    build, shape, dtype = CASES[name]
    torch.manual_seed(0)
    x = torch.zeros(shape, dtype=dtype or torch.float32)
    want = _oracle(build(), x)
    model = build()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = shapetrace.summary(model, input_data=x, device=device)
    assert {k: v for k, v in model.state_dict().items()}.keys() == before.keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    if want is None:
        assert not report.ok  # as torch: the bias no longer fits
        return
    assert report.ok, report.error
    got = [r.output_shapes for r in report.rows if not r.is_op]
    assert sorted(got) == sorted(want)  # hooks fire innermost first; rows are in call order


def test_the_rule_of_a_layer_with_other_weights_gives_no_formula_or_macs() -> None:
    for device in ("meta", "cpu"):
        conv = next(r for r in shapetrace.summary(_pruned_conv(), (1, 3, 8, 8), device=device).rows
                    if r.kind == "Conv2d")
        # 8 channels' formulas and MACs would be another layer's: unknown rather than wrong
        assert conv.output_shapes == [(1, 5, 6, 6)] and conv.formulas == [] and conv.macs is None


def test_an_untouched_layer_keeps_its_formula_and_macs() -> None:
    conv = shapetrace.summary(nn.Sequential(nn.Conv2d(3, 8, 3)), (1, 3, 8, 8)).rows[1]
    assert conv.formulas and conv.macs == 8 * 6 * 6 * 3 * 3 * 3


def _weight_normed():
    import warnings

    from torch.nn.utils import parametrizations, spectral_norm, weight_norm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # weight_norm's deprecation
        return {"parametrized weight_norm": (parametrizations.weight_norm(nn.Conv2d(3, 8, 3)), (1, 3, 8, 8)),
                "parametrized spectral_norm": (parametrizations.spectral_norm(nn.Linear(4, 6)), (2, 4)),
                "weight_norm": (weight_norm(nn.Conv2d(3, 8, 3)), (1, 3, 8, 8)),
                "spectral_norm": (spectral_norm(nn.Linear(4, 6)), (2, 4))}


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", list(_weight_normed()))
def test_a_layer_whose_weight_is_computed_keeps_its_rule(name, device) -> None:
    # Its module holds g and v (or weight_orig), not the weight it uses: counted, they looked
    # like replaced weights, and the row lost its formula and its MACs (0 in the totals).
    layer, shape = _weight_normed()[name]
    plain = nn.Conv2d(3, 8, 3) if isinstance(layer, nn.Conv2d) else nn.Linear(4, 6)
    want = shapetrace.summary(nn.Sequential(plain), shape, device=device).rows[1]
    got = next(r for r in shapetrace.summary(nn.Sequential(layer), shape, device=device).rows
               if r.name == "0")
    assert got.output_shapes == want.output_shapes and got.formulas == want.formulas and got.macs == want.macs > 0
