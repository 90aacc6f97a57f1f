"""``max_batch_size``: the largest batch whose peak fits, checked by bisection on real steps
(MemTracker's peak of the model itself), and the search against brute force."""

from __future__ import annotations

import pytest
import torch

import shapetrace
from shapetrace.memory.batch import MAX_BATCH, largest_batch
from shapetrace.memory.options import MemoryUsageError

from . import oracle
from .models import CASES


def _real_peak(case, b):
    model = case.model()
    x = torch.randn((b, *case.shape[1:]), generator=torch.Generator().manual_seed(0))
    return oracle.memtracker_peak(model, [x], case.optimizer)


def _bisect(fits, lo, hi):
    """The largest b in [lo, hi) with fits(b), given fits(lo) and not fits(hi)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


@pytest.mark.parametrize("name, target", [("bfloat16", 37), ("inplace", 20)])
def test_max_batch_size_is_the_real_bisections(name, target):
    case = CASES[name]
    if name == "bfloat16":
        case = type(case)(case.build, case.shape)  # float32 MLP
    # a budget between the real peaks at target and target + 1
    budget = (_real_peak(case, target) + _real_peak(case, target + 1)) // 2
    real = _bisect(lambda b: _real_peak(case, b) <= budget, 1, 64)
    assert real == target
    r = shapetrace.train_memory(case.model(), case.shape, budget=budget, **case.api_kwargs())
    assert r.max_batch_size == real
    assert r.budget == budget and r.batch_size == case.shape[0]  # rows and peak stay at the input's batch


def test_a_budget_string_and_nothing_fits():
    case = CASES["inplace"]
    r = shapetrace.train_memory(case.model(), case.shape, budget="1GiB", **case.api_kwargs())
    assert r.budget == 2**30 and r.max_batch_size > 100_000
    fixed = r.params + r.buffers + r.grads + r.optimizer_state
    r0 = shapetrace.train_memory(case.model(), case.shape, budget=fixed, **case.api_kwargs())
    assert r0.max_batch_size == 0
    with pytest.raises(MemoryUsageError, match="smaller than the weights"):
        shapetrace.train_memory(case.model(), case.shape, budget=fixed - 1, **case.api_kwargs())
    with pytest.raises(MemoryUsageError, match="smaller than the weights"):
        shapetrace.train_memory(case.model(), case.shape, budget=r.params // 2, **case.api_kwargs())


PEAKS = {
    "affine": lambda b: {"forward": 1000 + 37 * b, "backward": 1200 + 41 * b, "optimizer": 5000},
    # the optimizer step is the peak for small batches, the backward for large ones
    "phase_switch": lambda b: {"forward": 100 + 30 * b, "backward": 200 + 50 * b, "optimizer": 9000 + b},
    # a workspace that jumps every 64 samples (not affine: the guess fails, bisection finds it)
    "steps": lambda b: {"forward": 500 + 10 * b + 4000 * (b // 64), "backward": 0, "optimizer": 0},
    "convex": lambda b: {"forward": 100 + b * b, "backward": 0, "optimizer": 0},
}


@pytest.mark.parametrize("kind", sorted(PEAKS))
@pytest.mark.parametrize("budget", [1234, 9100, 20_000, 123_456])
def test_search_equals_brute_force(kind, budget):
    f = PEAKS[kind]
    calls = []

    def peak(b):
        calls.append(b)
        return f(b)

    found = largest_batch(peak, budget)
    brute = 0
    while brute < 100_000 and max(f(brute + 1).values()) <= budget:
        brute += 1
    assert found.batch == brute
    assert found.evaluations == len(set(calls)) <= 48


def test_a_peak_that_does_not_grow_is_not_limited():
    found = largest_batch(lambda b: {"forward": 10, "backward": 20, "optimizer": 30}, 100)
    assert (found.batch, found.how) == (MAX_BATCH, "not limited")


@pytest.mark.parametrize("kind", sorted(PEAKS))
def test_known_peaks_are_used_and_not_counted(kind):
    """A size given as ``known`` (the report's own step) is not simulated again nor counted."""
    f = PEAKS[kind]
    calls = []

    def peak(b):
        calls.append(b)
        return f(b)

    alone = largest_batch(f, 9100)
    found = largest_batch(peak, 9100, known={1: f(1), 2: f(2)})
    assert (found.batch, found.how) == (alone.batch, alone.how)
    assert 1 not in calls and 2 not in calls  # the search always asks for 1 and 2
    assert found.evaluations == len(calls) == len(set(calls)) == alone.evaluations - 2


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_steps_simulated_are_the_steps_the_search_ran(monkeypatch, batch_size):
    """"n steps simulated" counts the search's own steps: not the report's step at
    ``batch_size``, which the search reuses (it always asks for 1 and 2)."""
    from shapetrace.memory import api

    ran = []
    real = api.simulate

    def counted(model, cfg, b):
        ran.append(b)
        return real(model, cfg, b)

    monkeypatch.setattr(api, "simulate", counted)
    case = CASES["inplace"]
    r = shapetrace.train_memory(case.model(), case.shape, budget="1MiB", batch_size=batch_size,
                                **case.api_kwargs())
    assert ran[0] == batch_size and len(ran) == len(set(ran))  # each size simulated once
    assert r.batch_evaluations == len(ran) - 1 > 0
