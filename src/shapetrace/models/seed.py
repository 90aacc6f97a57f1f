"""The seed's model: ``ResidualBlock`` and ``CNNWithResidual``, as the seed wrote them
(same layers, same names), with its two mistakes corrected:

* ``fc1`` takes 1152 = 128 x 3 x 3 features, read off the flow
  (28 -> pool 14 -> pool 7 -> pool 3), not 128 x 7 x 7 = 6272;
* ``x.flatten(1)`` keeps the batch dimension, where ``x.view(-1, 6272)`` folded it.

``batchnorm=True`` is an option (not the seed's): BatchNorm2d after each conv.
"""

from __future__ import annotations

import torch
import torch.nn as nn

FLAT_FEATURES = 128 * 3 * 3  # (C, H, W) after the third 2x2 pool of a 28x28 input


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, batchnorm: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.relu = nn.ReLU()
        if batchnorm:
            self.bn1 = nn.BatchNorm2d(out_channels)
            self.bn2 = nn.BatchNorm2d(out_channels)
        else:
            self.bn1 = self.bn2 = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W)
        shortcut = self.shortcut(x)  # (B, C_out, H, W): matches the channel count
        x = self.conv1(x)  # (B, C_out, H, W)
        if self.bn1 is not None:
            x = self.bn1(x)
        x = self.relu(x)
        x = self.conv2(x)  # (B, C_out, H, W)
        if self.bn2 is not None:
            x = self.bn2(x)
        x = x + shortcut  # the residual connection
        x = self.relu(x)
        return x


class CNNWithResidual(nn.Module):
    def __init__(self, num_classes: int = 10, batchnorm: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.resblock1 = ResidualBlock(32, 64, batchnorm)
        self.resblock2 = ResidualBlock(64, 128, batchnorm)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(FLAT_FEATURES, 512)
        self.fc2 = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28)
        x = self.conv1(x)  # (B, 32, 28, 28)
        x = self.pool(torch.relu(x))  # (B, 32, 14, 14)
        x = self.resblock1(x)  # (B, 64, 14, 14)
        x = self.pool(x)  # (B, 64, 7, 7)
        x = self.resblock2(x)  # (B, 128, 7, 7)
        x = self.pool(x)  # (B, 128, 3, 3)
        x = x.flatten(1)  # (B, 1152)
        x = torch.relu(self.fc1(x))  # (B, 512)
        x = self.fc2(x)  # (B, 10)
        return x
