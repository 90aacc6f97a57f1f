"""Fixture models: each is small and exercises one thing the tracer must get right.

``ZOO`` maps a name to (factory, input): input is a shape, a list of shapes, a dict
of tensors (keyword inputs) or a callable that makes the input data.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock shape: the residual path named, ``out += identity``."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = BasicBlock(16, 16)
        self.layer2 = BasicBlock(16, 32, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1)

    def forward(self, features):
        x = torch.cat(features, 1)
        return self.conv(F.relu(self.norm(x)))


class DenseNetLike(nn.Module):
    def __init__(self, growth: int = 4):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1)
        self.layers = nn.ModuleList(DenseLayer(8 + i * growth, growth) for i in range(3))
        self.head = nn.Linear(8 + 3 * growth, 5)

    def forward(self, x):
        features = [self.conv0(x)]
        for layer in self.layers:
            features.append(layer(features))
        x = torch.cat(features, dim=1)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


class DepthwiseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.depthwise = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pointwise = nn.Conv2d(16, 32, 1)
        self.grouped = nn.Conv2d(32, 32, 3, padding=2, dilation=2, groups=4)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)

    def forward(self, x):
        x = F.relu6(self.stem(x))
        x = self.pointwise(self.depthwise(x))
        return self.pool(self.grouped(x))


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        d = self.up(e2)
        d = self.dec(torch.cat([d, e1], dim=1))  # the skip connection
        return self.out(d)


class Encoder(nn.Module):
    def __init__(self, vocab: int = 50, d: int = 16, T: int = 12):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, T, d))
        layer = nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d, 3)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[:, : tokens.shape[1]]
        x = self.encoder(x)
        return self.head(x.mean(dim=1))


class LSTMTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.lstm = nn.LSTM(8, 12, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(24, 6, batch_first=True)
        self.fc = nn.Linear(6, 4)

    def forward(self, tokens):
        x, (h, c) = self.lstm(self.embed(tokens))
        x, _ = self.gru(x)
        return self.fc(x[:, -1])


class MultiInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.AdaptiveMaxPool2d((2, 2))
        self.meta = nn.Linear(5, 8)
        self.fc = nn.Linear(16 + 8, 2)

    def forward(self, image, vector):
        a = self.pool(self.conv(image)).reshape(image.shape[0], -1)
        b = torch.sigmoid(self.meta(vector))
        return self.fc(torch.cat([a, b], dim=-1))


class DictInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.img = nn.Conv1d(2, 6, 5, stride=2)
        self.txt = nn.Embedding(20, 6)
        self.out = nn.Bilinear(6, 6, 3)

    def forward(self, signal, tokens=None, scale=1.0):
        a = self.img(signal).mean(-1)
        b = self.txt(tokens).mean(1) * scale
        return self.out(a, b)


class TiedLM(nn.Module):
    """GPT-style weight tying: the output layer uses the embedding's weight."""

    def __init__(self, vocab: int = 40, d: int = 8):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.block = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        x = self.wte(idx)
        x = x + self.block(x)
        return self.lm_head(self.ln_f(x))


class Reused(nn.Module):
    """One block called twice; Python control flow that depends on the shape."""

    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
        self.down = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.unused = nn.Linear(3, 3)  # never called: its params still count, at the root

    def forward(self, x):
        x = self.block(x)
        if x.shape[-1] > 8:
            x = self.down(x)
        x = self.block(x)
        return x.permute(0, 2, 3, 1).contiguous().view(x.shape[0], -1)


class Functional(nn.Module):
    """Layers written with F.* and its own parameters."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 3, 3, 3) * 0.1)
        self.b = nn.Parameter(torch.zeros(6))
        self.proj = nn.Parameter(torch.randn(6 * 4 * 4, 7) * 0.1)

    def forward(self, x):
        x = F.conv2d(x, self.w, self.b, padding=1)
        x = F.max_pool2d(F.gelu(x), 2)
        x = F.interpolate(x, size=(4, 4), mode="nearest")
        return torch.softmax(x.flatten(1) @ self.proj, dim=-1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.qkv = nn.Linear(8, 24)

    def forward(self, x):
        y, _ = self.mha(x, x, x)
        q, k, v = self.qkv(x).split(8, dim=-1)
        q, k, v = (t.view(x.shape[0], x.shape[1], 2, 4).transpose(1, 2) for t in (q, k, v))
        z = F.scaled_dot_product_attention(q, k, v)
        return y + z.transpose(1, 2).reshape(x.shape)


class Lazy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.LazyLinear(5)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def _tokens(shape, high):
    return lambda: torch.randint(0, high, shape)


ZOO = {
    "residual": (ResidualNet, (2, 3, 16, 16)),
    "densenet": (DenseNetLike, (2, 3, 8, 8)),
    "depthwise": (DepthwiseNet, (1, 3, 17, 17)),
    "unet": (TinyUNet, (1, 1, 16, 16)),
    "transformer": (Encoder, _tokens((2, 12), 50)),
    "lstm": (LSTMTagger, _tokens((3, 7), 30)),
    "multi_input": (MultiInput, [(2, 3, 6, 6), (2, 5)]),
    "dict_input": (DictInput, lambda: {"signal": torch.randn(2, 2, 21), "tokens": torch.randint(0, 20, (2, 4))}),
    "tied": (TiedLM, _tokens((2, 5), 40)),
    "reused": (Reused, (1, 4, 16, 16)),
    "functional": (Functional, (2, 3, 8, 8)),
    "attention": (Attention, (2, 5, 8)),
    "lazy": (Lazy, (2, 1, 6, 6)),
}


def make(name: str):
    """(model, summary kwargs, real input for the CPU oracle as (args, kwargs))."""
    factory, inp = ZOO[name]
    torch.manual_seed(0)
    model = factory()
    if callable(inp):
        data = inp()
        kw = {"input_data": data}
        real = ((), data) if isinstance(data, dict) else ((data,), {})
    else:
        shapes = inp if isinstance(inp, list) else [inp]
        tensors = [torch.randn(s) for s in shapes]
        kw = {"input_size": inp}
        real = (tuple(tensors), {})
    return model, kw, real
