"""``analyze_model`` and ``model_rows`` share one set-up (symbolic_probe._flow / _run): the
same request checks, eval mode while fx runs the forward, every training flag put back
whichever way the analysis ends, and the same rows."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from shapetrace.core.symbolic import SizesError
from shapetrace.trace.symbolic_probe import analyze_model, model_rows


class Plain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.drop = nn.Dropout()

    def forward(self, x):
        return self.drop(self.conv(x))


class Unmodelled(Plain):
    """fx traces it; the engine has no rule for ``roll`` (the rows before it are kept)."""

    def forward(self, x):
        return torch.roll(self.conv(x), 1)


class Untraceable(Plain):
    """Control flow on a value: fx cannot trace it."""

    def forward(self, x):
        y = self.conv(x)
        return y if y.sum() > 0 else -y


class Mismatch(Plain):
    """Fails whatever the sizes are: a cat of a 4-D and a 2-D tensor."""

    def forward(self, x):
        y = self.conv(x)
        return torch.cat([y, y.flatten(1)], 1)


def _flags(m: nn.Module) -> dict[str, bool]:
    return {n: s.training for n, s in m.named_modules()}


@pytest.mark.parametrize("cls", [Plain, Unmodelled, Untraceable, Mismatch])
def test_training_flags_are_put_back(cls) -> None:
    m = cls()
    m.conv.eval()  # mixed flags: each one must come back as it was
    before = _flags(m)
    res = analyze_model(m, (1, 1, 8, 8), max_size=16)
    assert _flags(m) == before
    model_rows(m, (1, 1, 8, 8))
    assert _flags(m) == before
    assert res.exact == (cls in (Plain, Mismatch))
    assert (res.error is not None) == (cls is Mismatch)


@pytest.mark.parametrize("cls,kinds", [(Plain, ["Conv2d", "Dropout"]), (Unmodelled, ["Conv2d"]),
                                       (Untraceable, []), (Mismatch, ["Conv2d"])])
def test_model_rows_are_the_rows_analyze_model_found(cls, kinds) -> None:
    m = cls()
    rows, names, example = model_rows(m, (1, 1, 8, 9))
    assert [r.kind for r in rows][:len(kinds)] == kinds and names == ("H", "W") and example == (8, 9)
    res = analyze_model(m, (1, 1, 8, 9), max_size=16)
    assert [(r.name, r.kind) for r in res.rows] == [(r.name, r.kind) for r in rows]


def test_both_check_the_request_alike() -> None:
    for call in (lambda: analyze_model(Plain(), (1, 1, 8, 8), dims=[7]),
                 lambda: model_rows(Plain(), (1, 1, 8, 8), dims=[7])):
        with pytest.raises(SizesError, match="axis 7 is out of range"):
            call()
