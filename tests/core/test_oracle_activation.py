"""Identity and the activations against real torch (valid and invalid arguments)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, pick, run_cases, sizes

PLAIN = ("ReLU", "ReLU6", "SELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid", "Sigmoid", "Tanh", "Softsign",
         "Tanhshrink", "LogSigmoid", "Identity")
NUMERIC = {
    "LeakyReLU": {"negative_slope": (0.01, -1.0, 2)},
    "ELU": {"alpha": (1.0, 0.0, -1)},
    "CELU": {"alpha": (1.0, 0.0, -2.0)},
    "Softplus": {"beta": (1.0, 0.0, -1), "threshold": (20.0, -1)},
    "Hardshrink": {"lambd": (0.5, -1.0)},
    "Softshrink": {"lambd": (0.5, 0.0, -1.0)},
    "Threshold": {"threshold": (0.1, -1), "value": (20.0, 0)},
    "RReLU": {"lower": (0.1, 0.5, -0.5), "upper": (0.3, 0.5, 0.1)},
    "Hardtanh": {"min_val": (-1.0, 1.0, 2.0), "max_val": (1.0, -1.0, 0.5), "min_value": (None, None, 0.5, 3.0),
                 "max_value": (None, None, 4.0, -3.0)},
}


@st.composite
def activation_cases(draw):
    shape = sizes(draw, draw(st.integers(0, 4)), 1, 4)
    which = draw(st.integers(0, 9))
    if which < 1:
        layer = draw(st.sampled_from(PLAIN))
        kw = {"inplace": draw(st.booleans())} if layer in PLAIN[:7] and draw(st.booleans()) else {}
        if layer == "Identity" and draw(st.booleans()):
            kw = {"unused": 3}
        return layer, shape, kw
    if which < 5:
        layer = draw(st.sampled_from(sorted(NUMERIC)))
        kw = {}
        for name, values in NUMERIC[layer].items():
            if layer == "Threshold" or draw(st.booleans()):
                kw[name] = draw(st.sampled_from(values))
        return layer, shape, kw
    if which < 6:
        layer = draw(st.sampled_from(["Softmax", "LogSoftmax", "Softmin", "Softmax2d"]))
        if layer == "Softmax2d":
            return layer, shape, {}
        return layer, shape, {"dim": pick(draw, (None, 0, 1, -1, -2), (3, -4, 5))}
    if which < 8:
        ch = shape[1] if len(shape) >= 2 else 1
        kw = {}
        if draw(st.integers(0, 3)):
            kw["num_parameters"] = pick(draw, (1, ch), (ch + 1, 0, -1), rare_weight=3)
        if draw(st.integers(0, 3)) == 0:
            kw["init"] = 0.1
        return "PReLU", shape, kw
    if which == 8:
        return "GELU", shape, {"approximate": pick(draw, ("none", "tanh"), ("exact", None))}
    kw = {"dim": pick(draw, (-1, 0, 1), (2, -3, 4))} if draw(st.booleans()) else {}
    if shape and draw(st.booleans()):
        shape = tuple(2 * d for d in shape)
    return "GLU", shape, kw


def test_activations_match_torch():
    assert_mixed(run_cases(activation_cases(), 1500), min_share=0.1,
                 blamed={"num_parameters", "dim", "alpha", "lambd", "max_val", "lower", "approximate", "input"})
