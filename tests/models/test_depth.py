"""PlainNet and ResNet (shapetrace.models.depth): what "depth" counts, the shapes, that the
two differ only by the residual path (same layers, same parameter count, same initial
weights), the initialisations, and one-line errors for arguments the nets do not take."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetrace.core.errors import ArgumentError, ShapetraceError
from shapetrace.models.depth import (Block, Init, PadShortcut, PlainNet, ResNet, blocks_per_stage,
                                     count_parameters, valid_depth, weighted_layers)

DEPTHS = (8, 20, 56)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def expected_params(depth: int, width: int, batchnorm: bool) -> int:
    """Counted by hand from the architecture, independently of the model code: 3x3 convs
    (bias only without BatchNorm), BatchNorm's weight and bias, the 10-way Linear head."""
    n = (depth - 2) // 6
    convs = [(1, width)]
    for cin, cout in ((width, width), (width, 2 * width), (2 * width, 4 * width)):
        convs += [(cin, cout), (cout, cout)] + [(cout, cout)] * (2 * (n - 1))
    total = 0
    for cin, cout in convs:
        total += 9 * cin * cout + (2 * cout if batchnorm else cout)
    return total + 4 * width * 10 + 10


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("depth", DEPTHS)
def test_plain_and_residual_have_the_same_parameter_count(depth, batchnorm):
    plain, res = PlainNet(depth, 8, batchnorm), ResNet(depth, 8, batchnorm)
    assert count_parameters(plain) == count_parameters(res) == expected_params(depth, 8, batchnorm)
    # the same layers, under the same names, of the same shapes
    assert [(k, v.shape) for k, v in plain.state_dict().items()] == \
        [(k, v.shape) for k, v in res.state_dict().items()]


@pytest.mark.parametrize("depth", DEPTHS)
def test_depth_counts_the_weighted_layers(depth):
    net = ResNet(depth, 4, True)
    layers = weighted_layers(net)
    assert len(layers) == depth == 6 * blocks_per_stage(depth) + 2
    assert [type(m) for _, m in layers] == [nn.Conv2d] * (depth - 1) + [nn.Linear]
    assert layers[0][0] == "conv1" and layers[-1][0] == "fc"
    blocks = [m for m in net.modules() if isinstance(m, Block)]
    assert len(blocks) == 3 * blocks_per_stage(depth) and all(b.residual for b in blocks)
    assert not any(b.residual for b in PlainNet(depth, 4, True).modules() if isinstance(b, Block))


def test_same_seed_gives_the_same_initial_weights():
    torch.manual_seed(3)
    plain = PlainNet(20, 4, False)
    torch.manual_seed(3)
    res = ResNet(20, 4, False)
    for (k, a), (_, b) in zip(plain.state_dict().items(), res.state_dict().items()):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("stem_stride, sizes", [(1, (28, 14, 7)), (2, (14, 7, 4))])
@pytest.mark.parametrize("cls", [PlainNet, ResNet])
def test_shapes_through_the_stages(cls, stem_stride, sizes):
    net = cls(14, 4, True, stem_stride=stem_stride)
    seen = {}
    for name in ("layer1", "layer2", "layer3"):
        getattr(net, name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o.shape))
    out = net(torch.randn(3, 1, 28, 28))
    assert out.shape == (3, 10)
    assert seen == {"layer1": (3, 4, sizes[0], sizes[0]), "layer2": (3, 8, sizes[1], sizes[1]),
                    "layer3": (3, 16, sizes[2], sizes[2])}


def test_pad_shortcut_subsamples_and_zero_pads():
    x = torch.randn(2, 3, 7, 7)
    y = PadShortcut(3, 8, 2)(x)
    assert y.shape == (2, 8, 4, 4)
    assert torch.equal(y[:, :3], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 3:]) == 0
    assert sum(p.numel() for p in PadShortcut(3, 8, 2).parameters()) == 0


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("stride, cin, cout", [(1, 4, 4), (2, 4, 8)])
def test_residual_block_adds_its_input_and_plain_block_does_not(batchnorm, stride, cin, cout):
    torch.manual_seed(0)
    res = Block(cin, cout, stride, batchnorm=batchnorm, residual=True)
    plain = Block(cin, cout, stride, batchnorm=batchnorm, residual=False)
    plain.load_state_dict(res.state_dict())
    x = torch.randn(2, cin, 9, 9)
    # the branch before the final ReLU, computed by hand from the block's own layers
    branch = res.bn2(res.conv2(torch.relu(res.bn1(res.conv1(x)))))
    identity = x if stride == 1 and cin == cout else PadShortcut(cin, cout, stride)(x)
    torch.testing.assert_close(res(x), torch.relu(branch + identity))
    torch.testing.assert_close(plain(x), torch.relu(branch))


def test_default_init_is_pytorchs_and_kaiming_is_hes():
    torch.manual_seed(0)
    default = PlainNet(8, 16, False)
    torch.manual_seed(0)
    he = PlainNet(8, 16, False, init=Init.KAIMING)
    conv = default.layer3[0].conv2  # 64 -> 64 channels, fan_in = fan_out = 576
    bound = 1 / math.sqrt(576)
    assert conv.weight.abs().max() <= bound and conv.bias.abs().max() <= bound
    assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)  # U(-b, b)
    he_conv = he.layer3[0].conv2
    assert he_conv.weight.std().item() == pytest.approx(math.sqrt(2 / 576), rel=0.05)  # N(0, 2/fan_out)
    assert torch.count_nonzero(he_conv.bias) == 0
    # the Linear head keeps PyTorch's default under both, as in torchvision
    torch.testing.assert_close(default.fc.weight, he.fc.weight)


@given(st.integers(min_value=-50, max_value=400))
@settings(max_examples=200, deadline=None)
def test_valid_depths_are_exactly_6n_plus_2(depth):
    ok = depth >= 8 and (depth - 2) % 6 == 0
    assert valid_depth(depth) == ok
    if ok:
        assert blocks_per_stage(depth) == (depth - 2) // 6
    else:
        with pytest.raises(ArgumentError, match=rf"depth {depth} is not of the form 6n\+2"):
            blocks_per_stage(depth)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(depth=10, width=4, batchnorm=True), "nearest: 8 or 14"),
    (dict(depth=2, width=4, batchnorm=True), "the smallest is 8"),
    (dict(depth=8.0, width=4, batchnorm=True), "depth must be an integer"),
    (dict(depth=True, width=4, batchnorm=True), "depth must be an integer"),
    (dict(depth=8, width=0, batchnorm=True), "width must be a positive integer"),
    (dict(depth=8, width=4, batchnorm=True, init="xavier"), "init must be one of default, kaiming"),
    (dict(depth=8, width=4, batchnorm=True, stem_stride=3), "stem_stride must be 1 or 2"),
])
@pytest.mark.parametrize("cls", [PlainNet, ResNet])
def test_bad_arguments_raise_one_line_errors(cls, kwargs, needle):
    with pytest.raises(ShapetraceError) as e:
        cls(**kwargs)
    assert e.value.exit_code == 2 and needle in str(e.value) and "\n" not in str(e.value)
