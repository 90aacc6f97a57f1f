"""The thread count around a trace has one owner, ``state.kept``: the trace runs on one
thread (meta, auto) and the caller's count is back afterwards, also when the forward
changed it or raised."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import shapetrace


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


class Seen(nn.Module):
    """Notes the thread count its forward runs with, then sets its own (or fails)."""

    def __init__(self, sets: int | None = None, fails: bool = False) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.sets, self.fails, self.seen = sets, fails, []

    def forward(self, x):
        self.seen.append(torch.get_num_threads())
        if self.sets is not None:
            torch.set_num_threads(self.sets)
        if self.fails:
            raise TypeError("no")
        return self.fc(x)


@pytest.mark.parametrize("device,runs_with", [("meta", 1), ("auto", 1), ("cpu", 2)])
@pytest.mark.parametrize("sets", [None, 3])
def test_the_callers_thread_count_is_back_after_a_trace(two_threads, device, runs_with, sets) -> None:
    model = Seen(sets)
    shapetrace.summary(model, input_size=(2, 4), device=device)
    assert model.seen == [runs_with] and torch.get_num_threads() == 2


def test_the_thread_count_is_back_when_the_forward_raises(two_threads) -> None:
    with pytest.raises(shapetrace.ShapetraceError):
        shapetrace.summary(Seen(3, fails=True), input_size=(2, 4), device="meta")
    assert torch.get_num_threads() == 2
