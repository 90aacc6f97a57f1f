"""The gradient-norm effect at initialisation, deterministic and in seconds: in deep plain nets
without BatchNorm (PyTorch's default init) the first layers' gradients are orders of magnitude
below the last layers'; the residual path removes that; He init removes it too, but makes deep
residual nets without BatchNorm explode."""

from __future__ import annotations

import math

import pytest
import torch

from shapetrace.experiments import gradnorm
from shapetrace.experiments.depth import grad_ratio
from shapetrace.models.depth import Init, PlainNet, ResNet, weighted_layers


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)


def norms(cls, depth, batch, *, batchnorm=False, init=Init.DEFAULT):
    torch.manual_seed(0)
    return gradnorm.at_init(cls(depth, 4, batchnorm, init=init, stem_stride=2), *batch)


def test_deep_plain_nets_without_batchnorm_lose_the_gradient_towards_the_input(batch):
    ratios = {d: grad_ratio(norms(PlainNet, d, batch)) for d in (8, 20, 56)}
    # deeper -> smaller, by orders of magnitude (measured: ~4e-3, ~5e-8, ~7e-26)
    assert ratios[8] > ratios[20] > ratios[56]
    assert ratios[20] < 1e-5
    assert ratios[56] < 1e-15
    # and layer by layer: the log-norm rises from input to output, on the whole
    n = norms(PlainNet, 56, batch)
    logs = [math.log10(v) for v in n[:-1]]
    quarter = len(logs) // 4
    assert sum(logs[:quarter]) / quarter < sum(logs[-quarter:]) / quarter - 10


def test_residual_nets_keep_the_gradient_at_the_input(batch):
    for d in (8, 56):
        r = grad_ratio(norms(ResNet, d, batch))
        assert 0.1 < r < 10, (d, r)


def test_float64_probe_sees_what_float32_flushes_to_zero(batch):
    """Training runs in float32, where plain-56's first layers get exactly 0: the float64
    probe is what lets the plot show how small their gradient really is."""
    torch.manual_seed(0)
    net = PlainNet(56, 4, False, stem_stride=2)
    n64 = gradnorm.at_init(net, *batch)
    n32 = gradnorm.at_init(net, *batch, dtype=torch.float32)
    assert all(v > 0 for v in n64)
    assert min(n32[:5]) < 1e-30 and n64[0] < 1e-20


def test_kaiming_init_removes_the_vanishing_but_explodes_residual_nets_without_batchnorm(batch):
    r = grad_ratio(norms(PlainNet, 56, batch, init=Init.KAIMING))
    assert 0.1 < r < 10  # measured ~2: He init keeps the signal's scale through conv + ReLU
    x, _ = batch
    logits = {}
    for init in (Init.DEFAULT, Init.KAIMING):
        torch.manual_seed(0)
        with torch.no_grad():
            logits[init] = ResNet(56, 4, False, init=init, stem_stride=2)(x).std().item()
    assert logits[Init.DEFAULT] < 1 and logits[Init.KAIMING] > 50  # measured ~0.2 and ~190


def test_deep_plain_nets_with_batchnorm_start_with_larger_gradients_at_the_input(batch):
    """BatchNorm removes the vanishing, but a deep plain BN net starts with the opposite
    imbalance (Yang et al. 2019, "A Mean Field Theory of Batch Normalization")."""
    assert grad_ratio(norms(PlainNet, 56, batch, batchnorm=True)) > 10  # measured ~750


def test_at_init_leaves_the_model_unchanged_and_current_reads_the_grads(batch):
    torch.manual_seed(0)
    net = PlainNet(8, 4, True)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    n = gradnorm.at_init(net, *batch)
    assert len(n) == 8
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k  # BatchNorm running stats too
    assert all(p.grad is None for p in net.parameters())
    assert gradnorm.current(net) == [0.0] * 8
    x, y = batch
    torch.nn.functional.cross_entropy(net(x), y).backward()
    expected = [m.weight.grad.norm().item() for _, m in weighted_layers(net)]
    assert gradnorm.current(net) == pytest.approx(expected)
