"""A layer whose weights no longer match its arguments (pruned by hand: ``conv.weight =
nn.Parameter(smaller)`` with ``out_channels`` left as it was; ``w.data = ...`` in a forward):
torch computes with the weights, so the trace must too, on every device. The core's rule
reads the arguments; the meta trace took its shape from it (8 channels where torch makes 5)
and the CPU trace its MACs. Real torch on the CPU is the oracle."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import shapetrace
from shapetrace.core.words import note_text

from .forward_oracle import module_outputs


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


def _input_pruned_conv() -> nn.Module:  # the input side: 2 of 3 channels kept, in_channels left
    m = nn.Sequential(nn.Conv2d(3, 8, 3))
    m[0].weight = nn.Parameter(torch.randn(8, 2, 3, 3))
    return m


def _input_pruned_transposed() -> nn.Module:  # torch's meta kernel skips this channel check
    m = nn.Sequential(nn.ConvTranspose2d(3, 4, 3))
    m[0].weight = nn.Parameter(torch.randn(2, 4, 3, 3))
    return m


def _reshaped_linear() -> nn.Module:  # as many weights (24) as before, another shape
    m = nn.Sequential(nn.Linear(4, 6, bias=False), nn.ReLU())
    m[0].weight = nn.Parameter(torch.randn(8, 3))
    return m


def _pruned_norms() -> nn.Module:
    m = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.GroupNorm(2, 8), nn.PReLU(8),
                      nn.Flatten(2), nn.LayerNorm(4))
    m[0].weight, m[0].bias = nn.Parameter(torch.randn(6, 3, 1, 1)), nn.Parameter(torch.randn(6))
    bn = m[1]
    bn.weight, bn.bias = nn.Parameter(torch.ones(6)), nn.Parameter(torch.zeros(6))
    bn.running_mean, bn.running_var = torch.zeros(6), torch.ones(6)
    m[2].weight, m[2].bias = nn.Parameter(torch.ones(6)), nn.Parameter(torch.zeros(6))
    m[3].weight = nn.Parameter(torch.ones(6))
    m[5].weight, m[5].bias = nn.Parameter(torch.ones(4)), nn.Parameter(torch.zeros(4))
    return m


def _stale_running_stats() -> nn.Module:  # torch rejects it: the statistics are the old size
    m = nn.Sequential(nn.BatchNorm1d(4))
    m[0].weight, m[0].bias = nn.Parameter(torch.ones(3)), nn.Parameter(torch.zeros(3))
    return m


def _changed_attributes() -> nn.Module:  # arguments set after construction: torch reads the weights
    m = nn.Sequential(nn.Conv2d(6, 8, 3, groups=2), nn.Flatten(), nn.Linear(8 * 4 * 4, 6))
    m[0].groups = 1  # the weight (8, 3, 3, 3) now takes 3 channels
    m[2].out_features = 10
    return m


CASES = {
    "pruned_conv": (_pruned_conv, (1, 3, 8, 8), None),
    "pruned_linear": (_pruned_linear, (2, 4), None),
    "wider_embedding": (_wider_embedding, (2, 2), torch.long),
    "narrow_bias": (_narrow_bias, (2, 4), None),
    "sets_data": (lambda: SetsData(5), (2, 4), None),
    "input_pruned_conv": (_input_pruned_conv, (1, 2, 8, 8), None),
    "input_pruned_conv_fed_3": (_input_pruned_conv, (1, 3, 8, 8), None),
    "input_pruned_transposed": (_input_pruned_transposed, (1, 2, 5, 5), None),
    "input_pruned_transposed_fed_3": (_input_pruned_transposed, (1, 3, 5, 5), None),
    "reshaped_linear": (_reshaped_linear, (2, 3), None),
    "reshaped_linear_fed_4": (_reshaped_linear, (2, 4), None),
    "pruned_norms": (_pruned_norms, (2, 3, 2, 2), None),
    "stale_running_stats": (_stale_running_stats, (2, 3), None),
    "changed_attributes": (_changed_attributes, (1, 3, 6, 6), None),
    "changed_attributes_fed_6": (_changed_attributes, (1, 6, 6, 6), None),
}


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_layer_whose_weights_left_its_arguments_traces_as_torch_runs_it(name, device) -> None:
    build, shape, dtype = CASES[name]
    torch.manual_seed(0)
    x = torch.zeros(shape, dtype=dtype or torch.float32)
    want = module_outputs(build(), x)
    model = build()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = shapetrace.summary(model, input_data=x, device=device)
    assert {k: v for k, v in model.state_dict().items()}.keys() == before.keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    if want is None:
        assert not report.ok  # as torch: the bias no longer fits
        return
    assert report.ok, report.error
    got = [tuple(r.output_shapes[0]) for r in report.rows if not r.is_op]
    assert sorted(got) == sorted(want)  # hooks fire innermost first; rows are in call order


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_the_rule_takes_the_arguments_the_weights_belong_to(device) -> None:
    # The formula, MACs and kwargs of the layer torch runs (5 filters, 2 input channels),
    # with a note that says so; before, 8 channels' rule (or none at all) was used.
    for build, shape, was, now in ((_pruned_conv, (1, 3, 8, 8), "out_channels=8", "out_channels=5"),
                                   (_input_pruned_conv, (1, 2, 8, 8), "in_channels=3", "in_channels=2"),
                                   (_reshaped_linear, (2, 3), "in_features=4, out_features=6",
                                    "in_features=3, out_features=8")):
        model, x = build(), torch.zeros(shape)
        with FlopCounterMode(display=False) as flops:
            model[0](x)
        row = next(r for r in shapetrace.summary(model, input_data=x, device=device).rows if r.name == "0")
        assert row.macs == flops.get_total_flops() // 2 and row.formulas
        assert [n.args for n in row.notes if n.key == "replaced_weights"] == [{"given": was, "now": now}]
        text = note_text("replaced_weights", {"given": was, "now": now}, "en")
        assert was in text and now in text and "follow the weights" in text
        assert note_text("replaced_weights", {"given": was, "now": now}, "ko") != text


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_call_the_weights_refuse_names_them_and_offers_no_argument_fix(device) -> None:
    report = shapetrace.summary(_input_pruned_conv(), (1, 3, 8, 8), device=device)
    assert not report.ok
    assert "expected input with 2 channels" in report.error.message
    assert "its weights are those of in_channels=2, not of its in_channels=3" in report.error.message
    assert "in_channels=3" not in report.error.fixes  # that is the argument it already has


def test_weights_that_no_arguments_make_give_no_formula_or_macs() -> None:
    m = nn.Sequential(nn.Linear(4, 6))
    m[0].weight = nn.Parameter(torch.randn(3, 4))
    m[0].bias = nn.Parameter(torch.randn(1, 3))  # a 2-D bias torch broadcasts: no Linear holds it
    row = shapetrace.summary(m, (2, 4), device="cpu").rows[1]
    assert row.output_shapes == [(2, 3)] and row.formulas == [] and row.macs is None


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
