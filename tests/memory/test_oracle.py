"""The simulated step against torch itself on a real CPU step (tests/memory/oracle.py):
saved activations byte for byte and per row, the peak against MemTracker, the FLOPs against
FlopCounterMode (in total and per leaf module), parameters/gradients/optimizer state against
the tensors torch.optim keeps."""

from __future__ import annotations

import functools

import pytest
import torch

import shapetrace
from shapetrace.memory.records import Bound

from . import oracle
from .models import CASES

NAMES = sorted(CASES)


@functools.lru_cache(maxsize=None)
def simulated(name):
    c = CASES[name]
    return shapetrace.train_memory(c.model(), c.shape, **c.api_kwargs())


@functools.lru_cache(maxsize=None)
def real(name):
    c = CASES[name]
    model, x = c.model(), c.inputs()
    return (oracle.real_saved(model, x, c.amp_dtype),
            oracle.memtracker_peak(model, x, c.optimizer, c.amp_dtype),
            oracle.real_flops(model, x, c.amp_dtype))


@pytest.mark.parametrize("name", NAMES)
def test_saved_activations_are_the_storages_autograd_saves(name):
    (total, rows), _, _ = real(name)
    r = simulated(name)
    assert r.saved_activations == total
    assert [(row.name, row.saved) for row in r.rows] == rows
    assert all(row.bound is Bound.EXACT for row in r.rows)  # CPU: every kernel's saves are sized


@pytest.mark.parametrize("name", NAMES)
def test_peak_within_ten_percent_of_memtracker(name):
    _, peak, _ = real(name)
    r = simulated(name)
    assert abs(r.peak - peak) <= 0.10 * peak, (r.peak, peak)
    assert r.peak == max(r.step.phase_peaks.values())


def _per_module(model, counts):
    """FlopCounterMode's keys ("Root.a.b") as named_modules() names ("" for the root)."""
    root = type(model).__name__
    out = {k.removeprefix(root + "."): v for k, v in counts.items() if k != "Global"}
    out[""] = out.pop(root, 0)
    return out


def _inclusive(rows, names, field):
    return {n: sum(getattr(r, f) for r in rows for f in field
                   if n == "" or r.name == n or r.name.startswith(n + "."))
            for n in names}


# Models whose modules' backward ops run one module after the other: FlopCounterMode's
# ModuleTracker attributes their backward right. Where branches meet (a residual add, a
# checkpoint's recompute) it also puts a neighbour's backward on a module that has none (the
# depth nets' PadShortcut gets 5.4 MFLOPs, the checkpointed Tanh 49152), so there only the
# forward and the totals are compared.
CHAINS = {"bfloat16", "amp", "inplace", "tied", "lstm"}


@pytest.mark.parametrize("name", NAMES)
def test_training_flops_match_flop_counter_mode(name):
    total, forward, per_step, per_forward = real(name)[2]
    r = simulated(name)
    assert (r.flops_forward, r.flops_backward) == (forward, total - forward)
    rows = r.rows
    assert sum(row.flops_forward for row in rows) == forward  # each count lands on a row
    assert sum(row.flops_backward for row in rows) == total - forward
    model = CASES[name].model()
    theirs = _per_module(model, per_forward)
    assert _inclusive(rows, theirs, ("flops_forward",)) == theirs
    if name in CHAINS:
        theirs = _per_module(model, per_step)
        assert _inclusive(rows, theirs, ("flops_forward", "flops_backward")) == theirs


@pytest.mark.parametrize("name", NAMES)
def test_params_grads_and_optimizer_state_are_torchs(name):
    c = CASES[name]
    model = c.model()
    params = list({id(p): p for p in model.parameters()}.values())
    opt = oracle.make_optimizer(c.optimizer, params)
    out = oracle._forward(model, c.inputs(), c.amp_dtype)
    oracle._loss(out).backward()
    opt.step()
    nbytes = lambda ts: sum({t.untyped_storage()._cdata: t.untyped_storage().nbytes() for t in ts}.values())
    state = [v for st in opt.state.values() for v in st.values() if isinstance(v, torch.Tensor)]
    r = simulated(name)
    assert r.params == nbytes(params)
    assert r.grads == nbytes([p.grad for p in params])
    assert r.optimizer_state == nbytes(state)
    assert r.buffers == nbytes(list(model.buffers()))
