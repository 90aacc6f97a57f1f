"""The small models the memory tests run: each with something autograd saves in its own way."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from shapetrace.models.depth import PlainNet, ResNet
from shapetrace.models.seed import CNNWithResidual


class InPlace(nn.Module):
    """In-place ReLU modules and ops, views of a saved tensor, an in-place add after a save."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.relu, self.b, self.c = nn.Linear(32, 64), nn.ReLU(inplace=True), nn.Linear(64, 64), nn.Linear(64, 8)

    def forward(self, x):
        y = self.b(self.relu(self.a(x)))
        y.relu_()
        y = y * 2
        y.add_(1)
        v = y.view(-1, 8, 8).transpose(1, 2).reshape(y.shape[0], 64)
        return self.c(v)


class Checkpointed(nn.Module):
    """A segment under torch.utils.checkpoint (saves only its input; recomputed in the backward)."""

    def __init__(self, reentrant: bool) -> None:
        super().__init__()
        self.reentrant = reentrant
        self.pre = nn.Linear(32, 32)
        self.seg = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 64), nn.Tanh())
        self.head = nn.Linear(64, 8)

    def forward(self, x):
        return self.head(checkpoint(self.seg, self.pre(x), use_reentrant=self.reentrant))


class Tied(nn.Module):
    """One weight shared by an embedding and the output layer (one storage, one gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.out = nn.Linear(16, 50, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, ids):
        return self.out(torch.tanh(self.emb(ids)))


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 8))


@dataclass
class Case:
    build: object  # () -> nn.Module
    shape: tuple
    optimizer: str = "adamw"
    dtype: str = "float32"
    amp: bool = False
    int_input: int | None = None  # token ids below this, else float inputs
    kwargs: dict = field(default_factory=dict)

    def model(self) -> nn.Module:
        torch.manual_seed(0)
        m = self.build()
        return m if self.amp else m.to(getattr(torch, self.dtype))

    def inputs(self) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(0)
        if self.int_input is not None:
            return [torch.randint(0, self.int_input, self.shape, generator=g)]
        dt = torch.float32 if self.amp else getattr(torch, self.dtype)
        return [torch.randn(self.shape, generator=g).to(dt)]

    def api_kwargs(self) -> dict:
        kw = dict(optimizer=self.optimizer, dtype=self.dtype, amp=self.amp)
        if self.int_input is not None:
            kw["dtypes"] = ["int64"]
        return kw

    @property
    def amp_dtype(self):
        return getattr(torch, self.dtype) if self.amp else None


CASES: dict[str, Case] = {
    "seed": Case(CNNWithResidual, (2, 1, 28, 28)),
    "seed-batchnorm": Case(lambda: CNNWithResidual(batchnorm=True), (2, 1, 28, 28), optimizer="sgd"),
    "depth-plain8": Case(lambda: PlainNet(8, width=8), (2, 1, 28, 28), optimizer="momentum"),
    "depth-resnet8": Case(lambda: ResNet(8, width=8), (2, 1, 28, 28), optimizer="adam"),
    "transformer": Case(lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), (2, 10, 32)),
    "lstm": Case(lambda: nn.LSTM(16, 32, num_layers=2, batch_first=True), (2, 10, 16)),
    "inplace": Case(InPlace, (4, 32)),
    "checkpoint": Case(lambda: Checkpointed(False), (4, 32)),
    "checkpoint-reentrant": Case(lambda: Checkpointed(True), (4, 32), optimizer="sgd"),
    "tied": Case(Tied, (4, 7), optimizer="momentum", int_input=50),
    "bfloat16": Case(mlp, (4, 32), dtype="bfloat16"),
    "amp": Case(mlp, (4, 32), dtype="bfloat16", amp=True),
}
