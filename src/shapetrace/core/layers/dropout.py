"""Dropout, Dropout1d/2d/3d, AlphaDropout and FeatureAlphaDropout: the shape is unchanged.

https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html (and Dropout1d/2d/3d,
AlphaDropout, FeatureAlphaDropout); rank checks from torch/nn/functional.py.

Torch's rules worth knowing: ``p`` must lie in [0, 1] (checked by the constructor);
Dropout1d takes only 2D/3D inputs, but Dropout2d, Dropout3d and FeatureAlphaDropout
take any input with at least 2 dimensions (1-D and 0-d inputs too when ``p`` is 0 or 1
or the input is empty: torch returns before checking; Dropout3d adds a batch dimension
first, so it takes 1-D inputs too; Dropout2d warns unless 4D, and treats a
3D input as (N, C, L); Dropout3d warns unless 4D/5D; a note repeats the warning).
"""

from __future__ import annotations

from ..records import Category, note
from .base import Call, fmt_shape, prod, register, register_many

_SIG = [("p", 0.5), ("inplace", False)]


def _common(c: Call) -> None:
    c.prob_arg("p")
    c.bool_arg("inplace")


@register_many({"Dropout": ("dropout",), "AlphaDropout": ("alpha_dropout",)}, _SIG, family="dropout",
               category=Category.DROPOUT)
def dropout(c: Call):
    _common(c)
    return c.result(c.input)


@register("Dropout1d", _SIG, family="dropout", category=Category.DROPOUT, short="Dropout",
          functional=("dropout1d",))
def dropout1d(c: Call):
    _common(c)
    c.batched_rank(1, layout="(N, C, L)", fix="Dropout for other ranks")
    return c.result(c.input)


def _feature(quiet_ranks: tuple[int, ...] | None):
    """Feature dropout. ``quiet_ranks``: the ranks torch takes without a warning
    (None: any rank >= 2, as FeatureAlphaDropout)."""

    def rule(c: Call):
        p = c.prob_arg("p")
        c.bool_arg("inplace")
        ndim = len(c.input)
        # Dropout3d adds a batch dimension to anything but a 5D input before the kernel;
        # feature_dropout returns early (before its rank check) for p of 0 or 1 and for
        # an empty input.
        seen = ndim + 1 if c.layer == "Dropout3d" and ndim != 5 else ndim
        if seen < 2 and p not in (0.0, 1.0) and prod(c.input) > 0:
            c.fail(f"feature dropout needs an input with at least 2 dimensions (N, C, *), got "
                   f"{ndim}D input of shape {fmt_shape(c.input)}", argument="input",
                   fix="Dropout for 0-d and 1-d inputs")
        notes = []
        if quiet_ranks is not None and ndim not in quiet_ranks:
            if c.layer == "Dropout2d" and ndim == 3:
                notes.append(note("dropout2d_3d"))
            else:
                notes.append(note("dropout_rank", layer=c.layer, ndim=ndim,
                                  expected="/".join(f"{r}D" for r in quiet_ranks)))
        return c.result(c.input, notes=notes)

    return rule


_FEATURE_NOTES = ("dropout_rank", "dropout2d_3d")
register("Dropout2d", _SIG, family="dropout", category=Category.DROPOUT, short="Dropout",
         functional=("dropout2d",), notes=_FEATURE_NOTES)(_feature((4,)))
register("Dropout3d", _SIG, family="dropout", category=Category.DROPOUT, short="Dropout",
         functional=("dropout3d",), notes=_FEATURE_NOTES)(_feature((4, 5)))
register("FeatureAlphaDropout", _SIG, family="dropout", category=Category.DROPOUT,
         functional=("feature_alpha_dropout",), notes=_FEATURE_NOTES)(_feature(None))
