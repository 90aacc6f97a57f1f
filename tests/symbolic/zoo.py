"""Small models of tests/symbolic (few channels, so that a forward at every size of a grid
is fast), each as an nn.Module and, where the spec format can say it, as the same spec."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Strided(nn.Module):
    """Strided convs, a ceil-mode pool, flatten(1) and a Linear head."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(2, 2, 5, stride=3)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(2 * 2 * 3, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.c2(F.relu(self.c1(x)))))
        return self.fc(torch.flatten(x, 1))


STRIDED_SPEC = {"input": [1, 1, 32, 32], "layers": [
    {"type": "Conv2d", "name": "c1", "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "ReLU"},
    {"type": "Conv2d", "name": "c2", "out_channels": 2, "kernel_size": 5, "stride": 3},
    {"type": "ReLU"},
    {"type": "MaxPool2d", "name": "pool", "kernel_size": 2, "ceil_mode": True},
    {"type": "Flatten"},
    {"type": "Linear", "name": "fc", "in_features": 12, "out_features": 3}]}


class Adaptive(nn.Module):
    """AdaptiveAvgPool2d before the head: any size above the convs' minimum."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 5, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)
        self.ap = nn.AdaptiveAvgPool2d((2, 3))
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        return self.fc(self.ap(self.pool(self.c1(x))).flatten(1))


ADAPTIVE_SPEC = {"input": [1, 1, 32, 32], "layers": [
    {"type": "Conv2d", "name": "c1", "out_channels": 2, "kernel_size": 5, "stride": 2},
    {"type": "MaxPool2d", "name": "pool", "kernel_size": 3, "stride": 2},
    {"type": "AdaptiveAvgPool2d", "name": "ap", "output_size": [2, 3]},
    {"type": "Flatten"},
    {"type": "Linear", "name": "fc", "out_features": 3}]}


class UNet(nn.Module):
    """Two down/up levels with skip concats: sizes that do not divide by 4 fail at a cat."""

    def __init__(self):
        super().__init__()
        self.e1 = nn.Conv2d(1, 2, 3, padding=1)
        self.down = nn.MaxPool2d(2)
        self.e2 = nn.Conv2d(2, 4, 3, padding=1)
        self.down2 = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(4, 4, 3, padding=1)
        self.up2 = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.d2 = nn.Conv2d(8, 4, 3, padding=1)
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
        self.d1 = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(self.down(a))
        m = self.mid(self.down2(b))
        y = self.d2(torch.cat([self.up2(m), b], dim=1))
        return self.d1(torch.cat([self.up(y), a], 1))


UNET_SPEC = {"input": [1, 1, 32, 32], "layers": [
    {"type": "Conv2d", "name": "e1", "out_channels": 2, "kernel_size": 3, "padding": 1},
    {"type": "Concat", "name": "skip1", "dim": 1, "branches": [[
        {"type": "MaxPool2d", "name": "down", "kernel_size": 2},
        {"type": "Conv2d", "name": "e2", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "Concat", "name": "skip2", "dim": 1, "branches": [[
            {"type": "MaxPool2d", "name": "down2", "kernel_size": 2},
            {"type": "Conv2d", "name": "mid", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "ConvTranspose2d", "name": "up2", "out_channels": 4, "kernel_size": 2, "stride": 2}],
            [{"type": "Identity"}]]},
        {"type": "Conv2d", "name": "d2", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "ConvTranspose2d", "name": "up", "out_channels": 2, "kernel_size": 2, "stride": 2}],
        [{"type": "Identity"}]]},
    {"type": "Conv2d", "name": "d1", "out_channels": 1, "kernel_size": 3, "padding": 1}]}


class TokenTransformer(nn.Module):
    """Token ids -> one attention block; the position table (``max_len`` rows) bounds T."""

    def __init__(self, vocab: int = 11, d: int = 8, max_len: int = 40):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_len, d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids):
        pos = torch.arange(ids.size(1))
        x = self.tok(ids) + self.pos(pos)
        att = torch.softmax(self.q(x) @ self.k(x).transpose(1, 2) / 8 ** 0.5, dim=-1)
        return self.head(self.norm(x + att @ self.v(x)))


class LibraryEncoder(nn.Module):
    """The same on nn.TransformerEncoderLayer, which the core has no rule for (probed)."""

    def __init__(self, vocab: int = 11, d: int = 8, max_len: int = 40):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_len, d)
        self.enc = nn.TransformerEncoderLayer(d, 2, 16, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        return self.head(self.enc(self.tok(ids) + self.pos(pos)))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(2, 3, 5, stride=2, padding=2)
        self.p = nn.MaxPool1d(3, stride=2, padding=1)
        self.c2 = nn.Conv1d(3, 3, 3, dilation=2)
        self.p2 = nn.AvgPool1d(2, ceil_mode=True)
        self.fc = nn.Linear(3 * 4, 2)

    def forward(self, x):
        return self.fc(self.p2(self.c2(self.p(self.c1(x)))).flatten(1))


CONV1D_SPEC = {"input": [1, 2, 64], "layers": [
    {"type": "Conv1d", "name": "c1", "out_channels": 3, "kernel_size": 5, "stride": 2, "padding": 2},
    {"type": "MaxPool1d", "name": "p", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "Conv1d", "name": "c2", "out_channels": 3, "kernel_size": 3, "dilation": 2},
    {"type": "AvgPool1d", "name": "p2", "kernel_size": 2, "ceil_mode": True},
    {"type": "Flatten"},
    {"type": "Linear", "name": "fc", "in_features": 12, "out_features": 2}]}


class Conv3dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv3d(1, 2, 3, stride=(1, 2, 2), padding=(0, 1, 1))
        self.p = nn.MaxPool3d(2)
        self.c2 = nn.Conv3d(2, 2, (1, 3, 3))
        self.fc = nn.Linear(2 * 2 * 2 * 3, 2)

    def forward(self, x):
        return self.fc(self.c2(self.p(self.c1(x))).flatten(1))


CONV3D_SPEC = {"input": [1, 1, 5, 20, 24], "layers": [
    {"type": "Conv3d", "name": "c1", "out_channels": 2, "kernel_size": 3, "stride": [1, 2, 2], "padding": [0, 1, 1]},
    {"type": "MaxPool3d", "name": "p", "kernel_size": 2},
    {"type": "Conv3d", "name": "c2", "out_channels": 2, "kernel_size": [1, 3, 3]},
    {"type": "Flatten"},
    {"type": "Linear", "name": "fc", "in_features": 24, "out_features": 2}]}
