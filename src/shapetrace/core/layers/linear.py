"""Linear and Bilinear.

Linear: (*, in_features) -> (*, out_features)
(https://pytorch.org/docs/stable/generated/torch.nn.Linear.html).
Bilinear: (*, in1_features), (*, in2_features) -> (*, out_features), the leading
dimensions of both inputs equal (https://pytorch.org/docs/stable/generated/torch.nn.Bilinear.html;
checks from aten/src/ATen/native/Linear.cpp, ``bilinear``).

Inferred arguments (may be left out): Linear's ``in_features`` (the input's last
size) and Bilinear's ``in1_features``/``in2_features`` (each input's last size).
They are unambiguous: torch requires exactly these values.

Torch's rules worth knowing: sizes of 0 are allowed for Linear (an empty layer),
but Bilinear requires ``in1_features > 0`` (constructor) and ``in2_features > 0`` (forward
reshapes input 2 to (-1, in2_features)); a 0-d input is an error for both.
"""

from __future__ import annotations

from ..records import Category, DimFormula, RFMode
from .base import REQUIRED, Call, fmt_shape, prod, register


def _last(i: int):
    return lambda inputs: inputs[i][-1]


@register("Linear", [("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True)],
          family="linear", category=Category.LINEAR, functional=("linear",), inferred={"in_features": _last(0)})
def linear(c: Call):
    shape = c.input
    if len(shape) == 0:
        c.fail("needs an input with at least 1 dimension (*, in_features), got a 0-d input",
               argument="input")
    fin = c.int_arg("in_features", minimum=0)
    fout = c.int_arg("out_features", minimum=0)
    bias = c.bool_arg("bias")
    if shape[-1] != fin:
        c.fail(f"expected input with {fin} features (in_features) in its last dimension, got "
               f"{shape[-1]} in input of shape {fmt_shape(shape)}", argument="in_features",
               fix=f"in_features={shape[-1]}")
    out = shape[:-1] + (fout,)
    params = fin * fout + (fout if bias else 0)
    macs = prod(shape[:-1]) * fin * fout
    return c.result(out, params=params, macs=macs, rf_mode=RFMode.GLOBAL,
                    formulas=[DimFormula("features", "out_features", f"{fout}", fout)])


@register("Bilinear", [("in1_features", REQUIRED), ("in2_features", REQUIRED), ("out_features", REQUIRED),
                       ("bias", True)], family="linear", category=Category.LINEAR, functional=("bilinear",),
          n_inputs=2,
          inferred={"in1_features": _last(0), "in2_features": _last(1)})
def bilinear(c: Call):
    a, b = c.inputs
    if len(a) == 0 or len(b) == 0:
        c.fail(f"both inputs need at least 1 dimension, got shapes {fmt_shape(a)} and {fmt_shape(b)}",
               argument="input")
    in1 = c.int_arg("in1_features")
    in2 = c.int_arg("in2_features", minimum=0)
    fout = c.int_arg("out_features", minimum=0)
    if in1 <= 0:
        c.fail(f"in1_features must be > 0, got {in1}", argument="in1_features")
    if in2 == 0:
        # Accepted by the constructor, but forward reshapes input 2 to (-1, 0): ambiguous.
        c.fail("in2_features=0 fails in forward (torch cannot reshape input 2 to (-1, 0))",
               argument="in2_features")
    bias = c.bool_arg("bias")
    if len(a) != len(b):
        c.fail(f"both inputs need the same number of dimensions, got {len(a)}D {fmt_shape(a)} and "
               f"{len(b)}D {fmt_shape(b)}", argument="input")
    for i in range(len(a) - 1):
        if a[i] != b[i]:
            c.fail(f"the inputs' leading dimensions must match: dim {i} is {a[i]} in input 1 "
                   f"{fmt_shape(a)} and {b[i]} in input 2 {fmt_shape(b)}", argument="input")
    if a[-1] != in1:
        c.fail(f"expected input 1 with {in1} features (in1_features), got {a[-1]} in {fmt_shape(a)}",
               argument="in1_features", fix=f"in1_features={a[-1]}")
    if b[-1] != in2:
        c.fail(f"expected input 2 with {in2} features (in2_features), got {b[-1]} in {fmt_shape(b)}",
               argument="in2_features", fix=f"in2_features={b[-1]}")
    out = a[:-1] + (fout,)
    params = fout * in1 * in2 + (fout if bias else 0)
    macs = prod(a[:-1]) * fout * in1 * in2
    return c.result(out, params=params, macs=macs, rf_mode=RFMode.GLOBAL,
                    formulas=[DimFormula("features", "out_features", f"{fout}", fout)])
