"""Real torch as the oracle for the torch-free layer rules.

``run_torch`` builds ``getattr(torch.nn, layer)(**kwargs)`` and runs it on small CPU
tensors (zeros; int64 zeros for Embedding; never the meta device, which skips checks
such as ConvTranspose's output_padding limit). ``agree`` runs the same call through
``shapetrace.compute`` and asserts the two agree: the same output shape and parameter
count wherever torch accepts the configuration, a ``ShapeError`` wherever torch raises
(at construction or in forward).

One deliberate difference (see core/layers/norm.py): BatchNorm's training-only checks
(more than one value per channel, eps > 0) are notes in shapetrace, so where torch
raises in training mode and shapetrace answers with that note, the call must succeed
in eval mode with the same shape.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetrace import ShapeError, compute
from shapetrace.core.layers import lookup
from shapetrace.core.words import NOTES



def _threads(family: str) -> None:
    """One thread (tiny tensors; no OpenMP spinning when the CI's cores are busy), except
    for convolutions, which run with two, as torch does by default on a multi-core CPU:
    the thread count decides which CPU kernel torch picks, and the kernels differ on edge
    cases (see core/layers/conv.py, ``_uses_onednn``)."""
    want = 2 if family == "conv" else 1
    if torch.get_num_threads() != want:
        torch.set_num_threads(want)

# Notes that stand for "torch raises here in training mode, not in eval mode".
TRAIN_ONLY_NOTES = {"bn_train_single_value", "bn_train_eps"}


@dataclass(frozen=True)
class TorchOutcome:
    shape: tuple[int, ...] | None
    params: int | None
    error: str | None  # "TypeName: message" when torch raised


def _channel(n: int):
    return lambda shapes: shapes[0][-(n + 1)]


# The arguments shapetrace may infer, filled in here the way a user would read them
# off the input (independently of the rules' own code; test_messages checks that this
# table and the registry list the same arguments).
INFERRED: dict[str, dict[str, Any]] = {
    **{f"Conv{n}d": {"in_channels": _channel(n)} for n in (1, 2, 3)},
    **{f"ConvTranspose{n}d": {"in_channels": _channel(n)} for n in (1, 2, 3)},
    **{f"BatchNorm{n}d": {"num_features": lambda shapes: shapes[0][1]} for n in (1, 2, 3)},
    **{f"InstanceNorm{n}d": {"num_features": _channel(n)} for n in (1, 2, 3)},
    "GroupNorm": {"num_channels": lambda shapes: shapes[0][1]},
    "Linear": {"in_features": lambda shapes: shapes[0][-1]},
    "Bilinear": {"in1_features": lambda shapes: shapes[0][-1], "in2_features": lambda shapes: shapes[1][-1]},
}


def torch_kwargs(layer: str, input_shape: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the inferable arguments the caller left out filled in from the input."""
    full = dict(kwargs)
    shapes = list(input_shape) if lookup(layer).n_inputs > 1 else [input_shape]
    for name, read in INFERRED.get(lookup(layer).name, {}).items():
        if name not in full:
            try:
                full[name] = read(shapes)
            except IndexError:  # too few dims to read it: torch gets no value and complains
                pass
    return full


def run_torch(layer: str, input_shape: Any, kwargs: dict[str, Any], *, train: bool = True) -> TorchOutcome:
    defn = lookup(layer)
    _threads(defn.family)
    kwargs = torch_kwargs(layer, input_shape, kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = getattr(torch.nn, layer)(**kwargs)
            module.train(train)
            if defn.n_inputs > 1:
                xs = [torch.zeros(tuple(s)) for s in input_shape]
            else:
                dtype = torch.long if defn.integer_input else torch.float32
                xs = [torch.zeros(tuple(input_shape), dtype=dtype)]
            with torch.no_grad():
                out = module(*xs)
        except Exception as e:  # torch's own error, whatever its type
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            return TorchOutcome(None, None, f"{type(e).__name__}: {first[:300]}")
    if isinstance(out, tuple):  # return_indices=True
        out = out[0]
    if any(d < 0 for d in out.shape):
        # A torch bug (ReflectionPad2d on an empty batch can return a negative size): no
        # valid shape, so shapetrace must raise.
        return TorchOutcome(None, None, f"negative size in output {tuple(out.shape)}")
    return TorchOutcome(tuple(out.shape), sum(p.numel() for p in module.parameters()), None)


def describe(layer: str, input_shape: Any, kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"nn.{layer}({args}) on input {tuple(input_shape) if not _is_multi(input_shape) else input_shape}"


def _is_multi(shape: Any) -> bool:
    return bool(shape) and isinstance(shape[0], (list, tuple))


def agree(layer: str, input_shape: Any, kwargs: dict[str, Any]) -> str:
    """Assert shapetrace and torch agree on this call; return the kind of outcome:
    "ok", or "error:<argument>" naming the argument shapetrace blamed."""
    t = run_torch(layer, input_shape, kwargs)
    try:
        r = compute(layer, input_shape, **kwargs)
        err = None
    except ShapeError as e:
        r, err = None, e
    what = describe(layer, input_shape, kwargs)
    if t.error is None:
        assert err is None, f"{what}: torch gives {t.shape}, shapetrace raises {err}"
        assert r.output_shape == t.shape, f"{what}: torch gives {t.shape}, shapetrace {r.output_shape}"
        assert r.params == t.params, f"{what}: torch has {t.params} params, shapetrace {r.params}"
        _check_result(r)
        return "ok"
    if err is None and TRAIN_ONLY_NOTES & {n.key for n in r.notes}:
        e = run_torch(layer, input_shape, kwargs, train=False)
        assert e.error is None, f"{what}: raises in train ({t.error}) and eval ({e.error}); shapetrace {r}"
        assert r.output_shape == e.shape and r.params == e.params, f"{what}: eval {e}, shapetrace {r}"
        return "ok:train-only"
    assert err is not None, f"{what}: torch raises {t.error}, shapetrace gives {r.output_shape}"
    assert str(err).startswith(f"{lookup(layer).name}: "), f"{what}: message lacks the layer: {err}"
    return f"error:{err.argument}"


def _check_result(r) -> None:
    """Invariants of every answer: notes have text in both languages and are declared by the
    layer's rule (``register(notes=...)``), sizes are ints, and
    a layer that changes the shape shows the formula of the change (explain needs it)."""
    declared = lookup(r.layer).notes
    for n in r.notes:
        assert n.key in NOTES and {"en", "ko"} <= set(NOTES[n.key]), f"note {n.key} lacks en/ko text"
        assert n.key in declared, f"{r.layer} emits note {n.key}, not in its rule's notes {declared}"
    assert all(isinstance(d, int) and d >= 0 for d in r.output_shape)
    assert r.params >= 0 and r.macs >= 0
    if len(r.input_shapes) == 1 and r.output_shape != r.input_shapes[0]:
        assert r.formulas or r.notes, f"{r.layer} changes {r.input_shapes[0]} to {r.output_shape} unexplained"


class Tally:
    """Counts outcomes of a property test, so that it can check both torch's
    accepting and rejecting sides were exercised, and which errors were hit."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    @property
    def ok(self) -> int:
        return sum(v for k, v in self.counts.items() if k.startswith("ok"))

    @property
    def errors(self) -> int:
        return sum(v for k, v in self.counts.items() if k.startswith("error"))

    def blamed(self) -> set[str]:
        return {k.split(":", 1)[1] for k in self.counts if k.startswith("error:")}

    def __repr__(self) -> str:
        return f"Tally(ok={self.ok}, errors={self.errors}, {dict(self.counts)})"


EXAMPLES_SCALE = float(os.environ.get("SHAPETRACE_EXAMPLES_SCALE", "1"))


def run_cases(cases: st.SearchStrategy, max_examples: int) -> Tally:
    """Check ``max_examples`` (layer, input_shape, kwargs) cases drawn from ``cases``
    against torch, under the deterministic "shapetrace-core" profile (conftest.py)."""
    tally = Tally()

    @settings(settings.get_profile("shapetrace-core"), max_examples=int(max_examples * EXAMPLES_SCALE))
    @given(cases)
    def check(case):
        layer, input_shape, kwargs = case
        tally.add(agree(layer, input_shape, kwargs))

    check()
    return tally


def assert_mixed(tally: Tally, *, min_share: float = 0.2, blamed: set[str] = frozenset()) -> None:
    """Both sides of torch's verdict were exercised, and every named kind of error."""
    print(tally)  # shown with -s / -rA: how many cases each side got
    total = tally.ok + tally.errors
    assert tally.ok >= min_share * total, tally
    assert tally.errors >= min_share * total, tally
    missing = set(blamed) - tally.blamed()
    assert not missing, f"no case made shapetrace blame {sorted(missing)}: {tally}"


# -- strategy helpers shared by the families' tests ---------------------------------

_PICKS: dict[tuple, st.SearchStrategy] = {}


def pick(draw, common, rare=(), rare_weight: int = 1, common_weight: int = 9):
    """A value from ``common`` most of the time, from ``rare`` (edge cases) sometimes:
    one draw from a list where each common value is repeated (draws are what cost)."""
    key = (tuple(common), tuple(rare), rare_weight, common_weight)
    strategy = _PICKS.get(key)
    if strategy is None:
        common, rare = list(common), list(rare)
        pool = common * (common_weight * max(len(rare), 1)) + rare * (rare_weight * len(common))
        strategy = _PICKS[key] = st.sampled_from(pool if rare else common)
    return draw(strategy)


_FORMS = st.sampled_from(["int"] * 4 + ["tuple"] * 4 + ["one", "wrong"])


def int_or_tuple(draw, n: int, common, rare=(), *, one: bool = True, wrong: bool = True):
    """An int, an n-tuple (mixed values), sometimes a 1-tuple or a tuple of the wrong length,
    as torch's ``_single``/``_pair``/``_triple`` arguments come."""
    form = draw(_FORMS)
    if (form == "one" and not one) or (form == "wrong" and not wrong):
        form = "tuple"
    if form == "int":
        return pick(draw, common, rare)
    if form == "one":
        return (pick(draw, common, rare),)
    length = n if form == "tuple" else (n + 1 if n < 3 else 2)
    return tuple(pick(draw, common, rare) for _ in range(length))


def sizes(draw, n: int, lo: int = 1, hi: int = 7, zero: bool = True):
    """``n`` spatial sizes, small (torch runs fast), sometimes 0."""
    return tuple(pick(draw, range(lo, hi + 1), (0,) if zero else (), rare_weight=1, common_weight=19)
                 for _ in range(n))


def maybe_batch(draw, shape: tuple[int, ...], *, unbatched: bool = True, empty: bool = True):
    """Prepend a batch of 1-2 (sometimes 0), or none where torch takes unbatched input."""
    if unbatched and draw(st.integers(0, 3)) == 0:
        return shape
    return (pick(draw, (1, 2), (0,) if empty else (), common_weight=12),) + shape
