"""Real third-party models (transformers 5 from tiny configs, torchvision's definitions; no
weights), traced on every device and compared with a real CPU forward: no error, the
params and trainable params, every module row's output shapes in call order, and the
model and torch's global state exactly as before the trace."""

from __future__ import annotations

import functools

import pytest

import shapetrace
from shapetrace.trace.failures import MetaLacksValues

from .real_state import differences, global_state, model_state
from .real_zoo import CASES, built
from .test_zoo import module_rows, oracle

DEVICES = ["meta", "cpu", "auto", None]  # None: summary's default


def _params():
    return [pytest.param(n, d, id=f"{n}-{d or 'default'}") for n in sorted(CASES) for d in DEVICES]


@functools.lru_cache(maxsize=None)
def expected(name: str):
    """The real CPU forward's module calls, and the model's parameter counts."""
    model, data = built(name), CASES[name].input_data()
    args, kwargs = ((), data) if isinstance(data, dict) else ((data,), {})
    before = model_state(model)
    calls = oracle(model, args, kwargs)
    assert differences(before, model_state(model)) == []  # the oracle itself changes nothing
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return calls, params, trainable


def trace(name: str, device: str | None, **kw):
    model = built(name)
    device_kw = {} if device is None else {"device": device}
    return shapetrace.summary(model, input_data=CASES[name].input_data(), **device_kw, **kw)


@pytest.mark.parametrize("name,device", _params())
def test_real_model_matches_a_real_forward(name: str, device: str | None, one_torch_thread) -> None:
    calls, params, trainable = expected(name)
    model = built(name)
    before_model, before_global = model_state(model), global_state()
    weights_decide = "values_from_weights" in CASES[name].tags
    if weights_decide and device == "meta":  # what meta cannot hold, said, and nothing changed
        with pytest.raises(MetaLacksValues, match="needs device='cpu'"):
            trace(name, device)
        assert differences(before_model, model_state(model)) == []
        assert differences(before_global, global_state()) == []
        return
    report = trace(name, device)
    assert differences(before_model, model_state(model)) == []
    assert differences(before_global, global_state()) == []
    assert report.ok, report.error
    if device is None:  # the default: meta, or the CPU (said) where the weights' values decide
        assert report.device == ("cpu" if weights_decide else "meta")
        assert ("ran_on_cpu" in [w.code for w in report.warnings]) == weights_decide
    assert (report.totals.params, report.totals.trainable_params) == (params, trainable)
    assert module_rows(report) == calls
