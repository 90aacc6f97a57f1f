"""``core.layers.weights``: the tensors a layer's constructor makes, and the arguments
that make given ones. Real torch is the oracle: every configuration the families' oracle
strategies draw that torch constructs is built, and its parameters and running
statistics must be exactly the shapes the core says; the arguments read back from those
shapes must make them again, and the rule's parameter count must be their sum."""

from __future__ import annotations

import warnings
from math import prod

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetrace import ShapeError, compute
from shapetrace.core.layers import REGISTRY, weights
from shapetrace.core.layers.base import REQUIRED

from .oracle import EXAMPLES_SCALE, torch_kwargs
from .test_oracle_activation import activation_cases
from .test_oracle_conv import conv_cases
from .test_oracle_embedding import embedding_cases
from .test_oracle_linear import bilinear_cases, linear_cases
from .test_oracle_norm import batch_instance_cases, group_norm_cases, layer_rms_cases

STATS = ("running_mean", "running_var")


def _built(layer: str, kwargs: dict):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(torch.nn, layer)(**kwargs)
    except Exception:  # torch refuses the arguments: the core makes no claim about them
        return None


def _held(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    out = {k: tuple(p.shape) for k, p in module.named_parameters(recurse=False)}
    out.update((k, tuple(b.shape)) for k, b in module.named_buffers(recurse=False) if k in STATS)
    return out


def _check(case) -> bool:
    layer, shape, kwargs = case
    kwargs = torch_kwargs(layer, shape, kwargs)
    module = _built(layer, kwargs)
    if module is None:
        return False
    held = _held(module)
    assert weights.shapes(layer, kwargs) == held, (layer, kwargs)
    # read back from the tensors, the arguments make them again (the sizes they fix)
    back = weights.arguments(layer, kwargs, held)
    if held and weights.sized_by_weights(layer):
        assert back is not None and weights.shapes(layer, back) == held, (layer, kwargs, back)
    else:  # its forward reads the arguments (LayerNorm's normalized_shape): they must fit
        assert back is None, (layer, kwargs, back)
    try:
        params = compute(layer, shape, **kwargs).params
    except ShapeError:
        return True
    assert params == sum(prod(s) for k, s in held.items() if k not in STATS), (layer, kwargs)
    return True


@pytest.mark.parametrize("cases", [conv_cases, linear_cases, bilinear_cases, embedding_cases,
                                   batch_instance_cases, layer_rms_cases, group_norm_cases,
                                   activation_cases], ids=lambda f: f.__name__)
def test_the_tensors_are_those_torch_makes(cases) -> None:
    built = []

    @settings(settings.get_profile("shapetrace-core"), max_examples=int(300 * EXAMPLES_SCALE))
    @given(cases())
    def check(case):
        built.append(_check(case))

    check()
    assert sum(built) >= 0.3 * len(built), "too few configurations torch builds"


def test_every_layer_that_holds_tensors_is_listed() -> None:
    # A torch.nn layer the core knows that makes parameters or statistics at its defaults
    # (given its required sizes) must be in the table, or a replaced weight goes unseen.
    sizes = {"in_channels": 2, "out_channels": 2, "kernel_size": 1, "in_features": 2, "out_features": 2,
             "in1_features": 2, "in2_features": 2, "num_embeddings": 2, "embedding_dim": 2,
             "num_features": 2, "normalized_shape": 2, "num_groups": 1, "num_channels": 2,
             "size": 2, "dim": 1, "unflattened_size": (1,), "upscale_factor": 1, "downscale_factor": 1,
             "groups": 1, "output_size": 2, "padding": 1, "threshold": 0.0, "value": 0.0, "norm_type": 2.0}
    for layer, defn in REGISTRY.items():
        kw = {k: sizes[k] for k, d in defn.signature if d is REQUIRED}
        if layer in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d") or layer.startswith("InstanceNorm"):
            kw.update(affine=True, track_running_stats=True)
        module = _built(layer, kw)
        assert module is not None, layer
        assert weights.has_weights(layer) == bool(_held(module)), layer


@pytest.mark.parametrize("layer, kwargs, held", [
    ("Linear", {"in_features": 4, "out_features": 6, "bias": True}, {"weight": (3, 4), "bias": (6,)}),
    ("Linear", {"in_features": 4, "out_features": 6, "bias": True}, {"weight": (3, 4, 1), "bias": (3,)}),
    ("Conv2d", {"in_channels": 4, "out_channels": 6, "kernel_size": (3, 3), "groups": 2, "bias": False},
     {"weight": (5, 2, 3, 3)}),  # 5 filters in 2 groups
    ("BatchNorm1d", {"num_features": 4}, {"weight": (3,), "bias": (3,), "running_mean": (4,), "running_var": (4,)}),
    ("LayerNorm", {"normalized_shape": (4,)}, {"weight": (4,), "bias": (3,)}),
])
def test_tensors_no_arguments_make_give_none(layer, kwargs, held) -> None:
    assert weights.arguments(layer, kwargs, held) is None


def test_arguments_change_only_the_sizes() -> None:
    kw = {"in_channels": 3, "out_channels": 8, "kernel_size": (3, 3), "stride": (2, 2), "padding": (1, 1),
          "groups": 1, "bias": True, "padding_mode": "reflect"}
    got = weights.arguments("Conv2d", kw, {"weight": (5, 2, 3, 1), "bias": (5,)})
    assert got == {**kw, "in_channels": 2, "out_channels": 5, "kernel_size": (3, 1)}
    # a transposed convolution's weight is (in, out / groups, *kernel)
    got = weights.arguments("ConvTranspose1d", {"in_channels": 4, "out_channels": 6, "kernel_size": (3,),
                                                "groups": 2, "bias": False}, {"weight": (2, 5, 3)})
    assert got is not None and (got["in_channels"], got["out_channels"]) == (2, 10)


@given(st.sampled_from(sorted(weights._SHAPES)), st.dictionaries(
    st.sampled_from(["in_channels", "out_channels", "kernel_size", "groups", "in_features", "out_features",
                     "num_features", "normalized_shape", "num_parameters", "bias", "affine"]),
    st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.none(), st.text(max_size=3),
              st.lists(st.integers(-3, 3), max_size=4), st.booleans())))
@settings(max_examples=300)
def test_bad_arguments_give_none_or_shapes_never_an_error(layer, kwargs) -> None:
    out = weights.shapes(layer, kwargs)
    assert out is None or all(isinstance(s, tuple) and all(isinstance(d, int) and d >= 0 for d in s)
                              for s in out.values())


@pytest.mark.parametrize("layer, groups, weight, bias, refused", [
    ("Conv2d", 1, (5, 2, 3, 3), (8,), "the bias of shape (8,) does not fit the weight of shape (5, 2, 3, 3)"),
    ("Conv2d", 2, (5, 2, 3, 3), (5,), "does not split into groups=2 along dim 0"),
    ("Conv1d", 1, (5, 2, 3), (5,), None),
    ("Conv1d", 1, (5, 2, 3), None, None),
    ("ConvTranspose2d", 2, (3, 2, 3, 3), (4,), "does not split into groups=2"),
    ("ConvTranspose2d", 2, (4, 3, 3, 3), (4,), "which makes 6 output channels: torch needs a bias of shape (6,)"),
    ("ConvTranspose1d", 2, (4, 3, 3), (6,), None),
])
def test_a_convolution_torch_refuses_at_every_input_is_named(layer, groups, weight, bias, refused) -> None:
    held = {"weight": weight, **({"bias": bias} if bias else {})}
    got = weights.refused(layer, {"groups": groups}, held)
    assert (got is None) == (refused is None) and (refused is None or refused in got), got
    # the oracle: torch's CPU kernel refuses it at every channel count, or takes one
    fn = getattr(torch.nn.functional, layer.lower().replace("transpose", "_transpose"))
    n = len(weight) - 2
    w, b = torch.zeros(weight), torch.zeros(bias) if bias else None
    taken = []
    for c in range(1, 13):
        try:
            fn(torch.zeros((1, c) + (4,) * n), w, b, groups=groups)
            taken.append(c)
        except RuntimeError:
            pass
    assert bool(taken) == (refused is None), taken


def test_other_layers_have_no_such_rule() -> None:
    assert weights.refused("Linear", {}, {"weight": (3, 4), "bias": (6,)}) is None  # its meta kernel checks
