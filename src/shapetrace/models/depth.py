"""Plain and residual networks of any depth ``6n + 2`` for 28x28x1 images (MNIST).

The CIFAR networks of He et al. 2016, "Deep Residual Learning for Image Recognition"
(section 4.2), scaled to MNIST: a 3x3 stem conv, three stages of ``n`` blocks with
``width``, ``2*width`` and ``4*width`` channels on 28x28, 14x14 and 7x7 feature maps,
global average pooling and one Linear layer. ``stem_stride=2`` (not in the paper) makes
the stem conv halve the image first (stages on 14x14, 7x7, 4x4): about a quarter of the
compute, which is what lets the CPU experiment train twelve nets in minutes.

**What "depth" counts.** The weighted layers on the path from input to output, as
He et al. count them: the stem conv (1) + two 3x3 convs per block (``2 * 3n``) + the
Linear layer (1) = ``6n + 2``. BatchNorm, ReLU, pooling and the shortcuts carry no
counted weights. Depths: 8 (n=1), 14, 20 (n=3), 32, 44, 56 (n=9), 110 (n=18), ...

**Plain vs residual.** Both nets are built from the one :class:`Block` class; its
only difference is ``residual: bool``. A residual block adds its input to the output
of its second conv (``out += identity``). Where a stage halves the map and doubles the
channels, the identity is subsampled and zero-padded (He et al.'s "option A"), which
has no parameters, so a ``PlainNet`` and a ``ResNet`` of the same arguments have
exactly the same layers and the same parameter count.

**Initialisation.** ``init=Init.DEFAULT`` keeps PyTorch's own initialisation, as the
seed's layers do: Conv2d and Linear weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
(``kaiming_uniform_(a=sqrt(5))``, see the ``torch.nn.Conv2d`` docs page, "Variables"),
so Var(w) = 1/(3 fan_in). Through a ReLU this scales the signal's second moment by
fan_in * Var(w) / 2 = 1/6 per conv, forward and backward: gradients shrink
geometrically towards the input of a deep plain net. ``init=Init.KAIMING`` uses He
et al. 2015 ("Delving Deep into Rectifiers", eq. 10): N(0, 2/fan_out) for the convs
(``kaiming_normal_(mode="fan_out", nonlinearity="relu")``, as torchvision's resnet.py),
which keeps that factor at 1, and zero conv biases.

Without BatchNorm the convs have biases (PyTorch's default); with BatchNorm they have
none, since BatchNorm's own shift makes a bias before it redundant (as torchvision).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.errors import ArgumentError
from .depth_init import Init  # noqa: F401 (defined there, torch-free; used and re-exported here)

IN_CHANNELS = 1  # MNIST: 28x28 grey images
NUM_CLASSES = 10


def blocks_per_stage(depth: int) -> int:
    """``n`` for a net of ``depth = 6n + 2`` weighted layers; ArgumentError otherwise."""
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise ArgumentError(f"depth must be an integer of the form 6n+2 (8, 14, 20, ...), got {depth!r}",
                            argument="depth")
    if depth < 8 or (depth - 2) % 6 != 0:
        lower = max(8, depth - ((depth - 2) % 6))
        hint = f"nearest: {lower} or {lower + 6}" if depth > 8 else "the smallest is 8"
        raise ArgumentError(
            f"depth {depth} is not of the form 6n+2 with n >= 1 (8, 14, 20, 26, 32, ...); {hint}",
            argument="depth")
    return (depth - 2) // 6


def valid_depth(depth: int) -> bool:
    return isinstance(depth, int) and not isinstance(depth, bool) and depth >= 8 and (depth - 2) % 6 == 0


def _conv3x3(in_channels: int, out_channels: int, stride: int, bias: bool) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=bias)


class PadShortcut(nn.Module):
    """He et al.'s shortcut "option A": subsample by ``stride`` and zero-pad the new
    channels. Parameter-free, so a residual block has the parameters of a plain one."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W)
        x = x[:, :, :: self.stride, :: self.stride]  # (B, C_in, ceil(H/s), ceil(W/s))
        extra = self.out_channels - self.in_channels
        # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C front, C back)
        return F.pad(x, (0, 0, 0, 0, 0, extra))  # (B, C_out, H', W')

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class Block(nn.Module):
    """conv3x3 -> [BN] -> ReLU -> conv3x3 -> [BN] -> (+ identity if residual) -> ReLU.

    torchvision's ``BasicBlock``, with the identity path switched by ``residual``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, *, batchnorm: bool,
                 residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = _conv3x3(in_channels, out_channels, stride, bias=not batchnorm)
        self.bn1 = nn.BatchNorm2d(out_channels) if batchnorm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(out_channels, out_channels, 1, bias=not batchnorm)
        self.bn2 = nn.BatchNorm2d(out_channels) if batchnorm else nn.Identity()
        self.downsample: nn.Module | None = None
        if residual and (stride != 1 or in_channels != out_channels):
            self.downsample = PadShortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W)
        identity = x

        out = self.conv1(x)  # (B, C_out, H/s, W/s)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)  # (B, C_out, H/s, W/s)
        out = self.bn2(out)

        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)  # (B, C_out, H/s, W/s)
            out += identity  # (B, C_out, H/s, W/s)
        out = self.relu(out)
        return out

    def extra_repr(self) -> str:
        return f"residual={self.residual}"


class DepthNet(nn.Module):
    """The common body of :class:`PlainNet` and :class:`ResNet` (``residual`` says which)."""

    residual: bool = False

    def __init__(self, depth: int, width: int = 16, batchnorm: bool = True, *,
                 init: Init | str = Init.DEFAULT, stem_stride: int = 1,
                 num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        n = blocks_per_stage(depth)
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ArgumentError(f"width must be a positive integer, got {width!r}", argument="width")
        try:
            init = Init(init)
        except ValueError:
            raise ArgumentError(f"init must be one of {', '.join(i.value for i in Init)}, got {init!r}",
                                argument="init") from None
        if stem_stride not in (1, 2) or isinstance(stem_stride, bool):
            raise ArgumentError(f"stem_stride must be 1 or 2, got {stem_stride!r}", argument="stem_stride")
        self.depth, self.width, self.batchnorm, self.init = depth, width, batchnorm, init
        self.stem_stride = stem_stride

        self.conv1 = _conv3x3(IN_CHANNELS, width, stem_stride, bias=not batchnorm)
        self.bn1 = nn.BatchNorm2d(width) if batchnorm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_stage(width, width, n, stride=1)
        self.layer2 = self._make_stage(width, 2 * width, n, stride=2)
        self.layer3 = self._make_stage(2 * width, 4 * width, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)

        if init is Init.KAIMING:
            self._kaiming_init()

    def _make_stage(self, in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
        """``blocks`` blocks; the first one changes the map size and channel count."""
        layers = [Block(in_channels, out_channels, stride, batchnorm=self.batchnorm, residual=self.residual)]
        layers += [Block(out_channels, out_channels, 1, batchnorm=self.batchnorm, residual=self.residual)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _kaiming_init(self) -> None:
        # As torchvision's resnet.py; the Linear layer keeps PyTorch's default there too.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28)
        # Sizes for stem_stride=1 (stem_stride=2: 14, 7, 4); Conv2d's
        # H_out = floor((H + 2*1 - 3) / stride) + 1 (torch.nn.Conv2d docs page, "Shape").
        x = self.conv1(x)  # (B, w, 28, 28)
        x = self.bn1(x)
        x = self.relu(x)

        x = self.layer1(x)  # (B, w, 28, 28)
        x = self.layer2(x)  # (B, 2w, 14, 14)
        x = self.layer3(x)  # (B, 4w, 7, 7)

        x = self.avgpool(x)  # (B, 4w, 1, 1)
        x = torch.flatten(x, 1)  # (B, 4w)
        x = self.fc(x)  # (B, num_classes)
        return x

    def extra_repr(self) -> str:
        return (f"depth={self.depth}, width={self.width}, batchnorm={self.batchnorm}, "
                f"init={self.init.value}, stem_stride={self.stem_stride}")


class PlainNet(DepthNet):
    """``depth`` weighted layers stacked without shortcuts."""

    residual = False


class ResNet(DepthNet):
    """The same layers as :class:`PlainNet`, each block adding its input to its output."""

    residual = True


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers that ``depth`` counts (Conv2d and Linear), input side to output side.

    The nets register their modules in the order ``forward`` calls them, so
    ``named_modules`` order is the order from input to output.
    """
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
