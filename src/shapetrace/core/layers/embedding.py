"""Embedding: integer indices of any shape -> (*, embedding_dim).

https://pytorch.org/docs/stable/generated/torch.nn.Embedding.html; checks from
torch/nn/modules/sparse.py (constructor) and aten/src/ATen/native/Embedding.cpp.

The input holds indices, so only its shape is known here: every index must lie in
``[0, num_embeddings)`` at run time (a note says so). An embedding with no rows
cannot look up anything, so it fails on any non-empty input.
"""

from __future__ import annotations

from ..records import Category, DimFormula, RFMode, note
from .base import REQUIRED, Call, prod, register


@register("Embedding", [("num_embeddings", REQUIRED), ("embedding_dim", REQUIRED), ("padding_idx", None),
                        ("max_norm", None), ("norm_type", 2.0), ("scale_grad_by_freq", False),
                        ("sparse", False), ("_weight", None), ("_freeze", False)],
          family="embedding", category=Category.EMBED, functional=("embedding",),
          notes=("embedding_indices",), integer_input=True)
def embedding(c: Call):
    num = c.int_arg("num_embeddings", minimum=0)
    dim = c.int_arg("embedding_dim", minimum=0)
    pad = c.int_arg("padding_idx", allow_none=True)
    c.float_arg("max_norm", allow_none=True)
    c.float_arg("norm_type")
    c.bool_arg("scale_grad_by_freq")
    c.bool_arg("sparse")
    c.bool_arg("_freeze")
    c.none_arg("_weight", "a weight tensor cannot be given to a shape calculator")
    if pad is not None:
        if not -num <= pad < num:
            c.fail(f"padding_idx {pad} is out of range for num_embeddings {num} (valid: {-num} to {num - 1})",
                   argument="padding_idx", fix=f"padding_idx between {-num} and {num - 1}, or None"
                   if num else "padding_idx=None")
    shape = c.input
    if num == 0 and prod(shape) > 0:
        c.fail(f"num_embeddings is 0, so no index of the input {shape} can be looked up",
               argument="num_embeddings", fix="num_embeddings = the vocabulary size")
    out = shape + (dim,)
    notes = [note("embedding_indices", num=num)]
    return c.result(out, params=num * dim, notes=notes, rf_mode=RFMode.UNKNOWN,
                    formulas=[DimFormula("features", "embedding_dim", f"{dim}", dim)])
