"""Identity and the element-wise activations (shape unchanged), plus the few that are
not quite element-wise: PReLU (a weight per channel), Softmax/LogSoftmax/Softmin
(along ``dim``), Softmax2d (over channels of a 3D/4D input) and GLU (halves ``dim``).

https://pytorch.org/docs/stable/nn.html#non-linear-activations-weighted-sum-nonlinearity;
argument checks from torch/nn/modules/activation.py and the aten kernels
(Activation.cpp: celu, softshrink, rrelu, prelu; GatedLinearUnit.cpp: glu).

Torch's rules worth knowing:
- PReLU with ``num_parameters`` other than 1 needs it to equal the input's channel
  size, which is dim 1, or 1 for a 1-D input (so a 1-D input never has "channels");
- ``Softmax(dim=None)`` is deprecated: torch picks dim 0 for 0-D, 1-D and 3-D inputs and
  dim 1 otherwise (a note says which);
- Hardtanh needs ``max_val > min_val``, RReLU ``lower <= upper``, CELU ``alpha != 0``,
  Softshrink ``lambd >= 0``, GELU ``approximate`` in {'none', 'tanh'}.
"""

from __future__ import annotations

from ..records import Category, DimFormula, note
from .base import REQUIRED, Call, fmt_shape, register, register_many

_INPLACE = [("inplace", False)]

# name -> signature (every argument but inplace is a number)
_SIMPLE: dict[str, list[tuple[str, object]]] = {
    "ReLU": _INPLACE,
    "ReLU6": _INPLACE,
    "SELU": _INPLACE,
    "SiLU": _INPLACE,
    "Mish": _INPLACE,
    "Hardswish": _INPLACE,
    "Hardsigmoid": _INPLACE,
    "Sigmoid": [],
    "Tanh": [],
    "Softsign": [],
    "Tanhshrink": [],
    "LogSigmoid": [],
    "LeakyReLU": [("negative_slope", 0.01), ("inplace", False)],
    "ELU": [("alpha", 1.0), ("inplace", False)],
    "Softplus": [("beta", 1.0), ("threshold", 20.0)],
    "Hardshrink": [("lambd", 0.5)],
    "Threshold": [("threshold", REQUIRED), ("value", REQUIRED), ("inplace", False)],
}


def _check_args(c: Call) -> None:
    """Type checks: ``inplace`` is a bool, every other argument a number."""
    for name in c.defn.arg_names:
        if name == "inplace":
            c.bool_arg(name)
        else:
            c.float_arg(name)


def _elementwise(c: Call):
    _check_args(c)
    return c.result(c.input)


# The torch functions of the same computation (names as op rows take them).
_FUNCTIONAL: dict[str, tuple[str, ...]] = {
    "ReLU": ("relu", "relu_"), "ReLU6": ("relu6",), "SELU": ("selu",), "SiLU": ("silu",),
    "Mish": ("mish",), "Hardswish": ("hardswish",), "Hardsigmoid": ("hardsigmoid",),
    "Sigmoid": ("sigmoid", "sigmoid_"), "Tanh": ("tanh", "tanh_"), "Softsign": ("softsign",),
    "Tanhshrink": ("tanhshrink",), "LogSigmoid": ("logsigmoid",), "LeakyReLU": ("leaky_relu", "leaky_relu_"),
    "ELU": ("elu",), "Softplus": ("softplus",), "Hardshrink": ("hardshrink",), "Threshold": ("threshold",),
}

for _name, _sig in _SIMPLE.items():
    register(_name, _sig, family="activation", category=Category.ACT,
             functional=_FUNCTIONAL.get(_name, ()))(_elementwise)


@register("Identity", [], family="activation", category=Category.IDENTITY, any_kwargs=True)
def identity(c: Call):
    return c.result(c.input)


@register("CELU", [("alpha", 1.0), ("inplace", False)], family="activation", category=Category.ACT,
          functional=("celu",))
def celu(c: Call):
    _check_args(c)
    if c.args["alpha"] == 0:
        c.fail("alpha must not be 0 (CELU divides by it)", argument="alpha", fix="alpha=1.0")
    return c.result(c.input)


@register("Softshrink", [("lambd", 0.5)], family="activation", category=Category.ACT, functional=("softshrink",))
def softshrink(c: Call):
    _check_args(c)
    if c.args["lambd"] < 0:
        c.fail(f"lambd must be >= 0, got {c.args['lambd']}", argument="lambd", fix="lambd=0.5")
    return c.result(c.input)


@register("RReLU", [("lower", 1 / 8), ("upper", 1 / 3), ("inplace", False)], family="activation",
          category=Category.ACT, functional=("rrelu",))
def rrelu(c: Call):
    _check_args(c)
    if c.args["lower"] > c.args["upper"]:
        c.fail(f"lower {c.args['lower']} must not exceed upper {c.args['upper']}", argument="lower")
    return c.result(c.input)


@register("Hardtanh", [("min_val", -1.0), ("max_val", 1.0), ("inplace", False), ("min_value", None),
                       ("max_value", None)], family="activation", category=Category.ACT,
          functional=("hardtanh",))
def hardtanh(c: Call):
    lo = c.float_arg("min_val")
    hi = c.float_arg("max_val")
    c.bool_arg("inplace")
    # The deprecated min_value/max_value replace min_val/max_val when given.
    lo2 = c.float_arg("min_value", allow_none=True)
    hi2 = c.float_arg("max_value", allow_none=True)
    lo = lo if lo2 is None else lo2
    hi = hi if hi2 is None else hi2
    if not hi > lo:
        c.fail(f"max_val ({hi:g}) must be greater than min_val ({lo:g})", argument="max_val")
    return c.result(c.input)


@register("GELU", [("approximate", "none")], family="activation", category=Category.ACT, functional=("gelu",))
def gelu(c: Call):
    v = c.args["approximate"]
    if not isinstance(v, str):
        c.bad_arg("approximate", f"must be 'none' or 'tanh', got {v!r}")
    c.choice_arg("approximate", ("none", "tanh"))
    return c.result(c.input)


@register("PReLU", [("num_parameters", 1), ("init", 0.25)], family="activation", category=Category.ACT,
          functional=("prelu",))
def prelu(c: Call):
    num = c.int_arg("num_parameters", minimum=0)
    c.float_arg("init")
    shape = c.input
    if num != 1:
        if len(shape) == 0:
            c.fail(f"num_parameters={num} needs an input with a channel dimension, got a 0-d input",
                   argument="num_parameters", fix="num_parameters=1")
        channels = shape[1] if len(shape) >= 2 else 1
        if channels != num:
            where = f"dim 1 of input {fmt_shape(shape)}" if len(shape) >= 2 else "a 1-D input"
            c.fail(f"num_parameters={num} must be 1 or the channel size, which is {channels} ({where})",
                   argument="num_parameters", fix=f"num_parameters={channels} or 1")
    return c.result(shape, params=num)


def _implicit_dim(ndim: int) -> int:
    """torch.nn.functional._get_softmax_dim."""
    return 0 if ndim in (0, 1, 3) else 1


@register_many({"Softmax": ("softmax",), "LogSoftmax": ("log_softmax",), "Softmin": ("softmin",)},
               [("dim", None)], family="activation", category=Category.SOFTMAX, notes=("softmax_implicit_dim",))
def softmax(c: Call):
    shape = c.input
    notes = []
    if c.args["dim"] is None:
        notes.append(note("softmax_implicit_dim", layer=c.layer, dim=_implicit_dim(len(shape))))
    else:
        c.dim_arg("dim", len(shape))
    return c.result(shape, notes=notes)


@register("Softmax2d", [], family="activation", category=Category.SOFTMAX)
def softmax2d(c: Call):
    c.ndim_check((3, 4))
    return c.result(c.input)


@register("GLU", [("dim", -1)], family="activation", category=Category.ACT, functional=("glu",))
def glu(c: Call):
    shape = c.input
    if len(shape) == 0:
        c.fail("GLU cannot halve a 0-d input", argument="input")
    d = c.dim_arg("dim", len(shape))
    if shape[d] % 2:
        c.fail(f"dim {c['dim']} of input {fmt_shape(shape)} has odd size {shape[d]}; GLU halves it",
               argument="dim", fix="a dim with an even size")
    out = shape[:d] + (shape[d] // 2,) + shape[d + 1:]
    return c.result(out, formulas=[DimFormula(f"dim{d}", "size / 2", f"{shape[d]} / 2", shape[d] // 2)])
