"""The seed's model code exactly as the seed wrote it, mistakes included.

Source: the Korean tutorial post this project grew from (the seed's
seed_model_verbatim.py, outside this repository: its code re-indented, otherwise
unchanged), copied here so that the package never reads files outside itself.

It is kept wrong on purpose, as the test case for shape diagnosis: ``fc1`` takes
``128 * 7 * 7 = 6272`` features and ``forward`` does ``x.view(-1, 128 * 7 * 7)``,
but after three 2x2 pools a 28x28 input is 3x3, i.e. 1152 features per sample.
Batch 1 and 64 fail; batch 49 silently returns 9 rows. The corrected model is
``shapetrace.models.seed``.
"""

import torch
import torch.nn as nn


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        shortcut = self.shortcut(x)
        x = self.conv1(x)
        x = self.relu(x)
        x = self.conv2(x)
        x = x + shortcut
        x = self.relu(x)
        return x


class CNNWithResidual(nn.Module):
    def __init__(self):
        super(CNNWithResidual, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.resblock1 = ResidualBlock(32, 64)
        self.resblock2 = ResidualBlock(64, 128)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(128 * 7 * 7, 512)
        self.fc2 = nn.Linear(512, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = self.pool(torch.relu(x))
        x = self.resblock1(x)
        x = self.pool(x)
        x = self.resblock2(x)
        x = self.pool(x)
        x = x.view(-1, 128 * 7 * 7)
        x = torch.relu(self.fc1(x))
        x = self.fc2(x)
        return x
