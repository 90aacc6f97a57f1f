"""BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm.

All keep the input shape. Shapes and parameters: the docs pages
https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html (and InstanceNorm2d,
LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm). Checks follow torch/nn/modules/
batchnorm.py, instancenorm.py, normalization.py and torch/nn/functional.py
(``_verify_batch_size``, ``_verify_spatial_size``, ``group_norm``).

Mode: BatchNorm's checks on the batch statistics (more than one value per channel, i.e.
batch * spatial > 1, and eps != 0; a negative eps fails in both modes) bite only in training mode when the layer keeps
running statistics, so there they are notes, not errors (a shape calculator answers
for eval mode too; torch raises only while training). Without running statistics
(``track_running_stats=False``) batch statistics are always used and they are errors.
The other rules hold in both modes:
- InstanceNorm needs more than one spatial element, and checks ``num_features``
  against the input only when it has weights or running statistics (otherwise a
  mismatch is silently ignored: a note says so); BatchNorm, and InstanceNorm's running
  statistics, skip that check on an empty input;
- GroupNorm checks ``num_channels`` against the input only when affine, and needs more
  than one value per group.

Inferred arguments (may be left out): BatchNorm's and InstanceNorm's ``num_features``
and GroupNorm's ``num_channels`` (the input's channel size, which torch requires).
LayerNorm's and RMSNorm's ``normalized_shape`` are not inferred: how many trailing
dimensions to normalise over is a choice, not a consequence of the input.
"""

from __future__ import annotations

from ..records import Category, note
from .base import REQUIRED, Call, fmt_shape, is_int, prod, register


def _bn_signature():
    return [("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True),
            ("track_running_stats", True), ("bias", True)]


def _in_signature():
    return [("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", False),
            ("track_running_stats", False), ("bias", True)]


def _affine_params(c: Call, count: int, affine: bool) -> int:
    if not affine:
        return 0
    return count * (2 if c.bool_arg("bias") else 1)


def _batch_norm(n: int):
    ranks = (2, 3) if n == 1 else (n + 2,)

    def rule(c: Call):
        shape = c.input
        if len(shape) not in ranks:
            want = " or ".join(f"{r}D" for r in ranks)
            c.fail(f"expected a {want} input (N, C" + (", L" if n == 1 else ", " + ", ".join("DHW"[3 - n:]))
                   + f"), got {len(shape)}D input of shape {fmt_shape(shape)}", argument="input")
        nf = c.int_arg("num_features", minimum=0)
        eps = c.float_arg("eps")
        c.float_arg("momentum", allow_none=True)
        affine = c.bool_arg("affine")
        track = c.bool_arg("track_running_stats")
        ch = shape[1]
        # An empty input returns before the kernel compares channels with the weights.
        checked = (affine or track) and prod(shape) > 0
        if checked and ch != nf:
            c.fail(f"expected input with {nf} channels (num_features), got {ch} channels in input of "
                   f"shape {fmt_shape(shape)}", argument="num_features", fix=f"num_features={ch}")
        if affine and nf == 0:
            c.fail("num_features=0 with affine=True: torch's kernel fails on the empty weight",
                   argument="num_features")
        # Batch statistics are used in training mode, and always without running stats.
        # With running stats, these checks only bite in training: a note, not an error.
        notes = []
        values = shape[0] * prod(shape[2:])
        if eps < 0:
            c.fail(f"eps must not be negative, got {eps:g}", argument="eps", fix="eps=1e-5")
        if eps == 0:
            if not track:
                c.fail(f"eps must be positive when batch statistics are used, got {eps:g}", argument="eps",
                       fix="eps=1e-5")
            notes.append(note("bn_train_eps", eps=eps))
        if values == 1:
            if not track:
                c.fail(f"needs more than 1 value per channel (track_running_stats=False uses batch "
                       f"statistics), but input {fmt_shape(shape)} has batch {shape[0]} x spatial "
                       f"{prod(shape[2:])} = 1", argument="input", fix="a batch of 2 or more")
            notes.append(note("bn_train_single_value", shape=fmt_shape(shape)))
        if not checked and ch != nf:
            notes.append(note("num_features_ignored", given=nf, channels=ch))
        params = _affine_params(c, nf, affine)
        return c.result(shape, params=params, macs=prod(shape) if affine else 0, notes=notes)

    return rule


def _instance_norm(n: int):
    def rule(c: Call):
        shape = c.input
        c.batched_rank(n)
        nf = c.int_arg("num_features", minimum=0)
        c.float_arg("eps")
        c.float_arg("momentum", allow_none=True)
        affine = c.bool_arg("affine")
        track = c.bool_arg("track_running_stats")
        ch = shape[-(n + 1)]
        batch = shape[0] if len(shape) == n + 2 else 1
        # aten instance_norm: batch_norm over (1, batch*C, *) with the weights and running
        # statistics repeated batch times, then running_mean.view(batch, C).mean(0) copied
        # back into running_mean (size num_features).
        if affine and ch != nf:  # the module's own check
            c.fail(f"expected input with {nf} channels (num_features), got {ch} channels in input of "
                   f"shape {fmt_shape(shape)}", argument="num_features", fix=f"num_features={ch}")
        if track and ch != nf and (batch > 0 or ch != 1):
            c.fail(f"expected input with {nf} channels (num_features, the running statistics' size), got "
                   f"{ch} channels in input of shape {fmt_shape(shape)}", argument="num_features",
                   fix=f"num_features={ch}")
        if affine and batch * nf == 0:
            c.fail(f"the weight repeated per sample is empty (batch {batch} x num_features {nf}); torch's "
                   f"kernel fails on it", argument="input" if nf else "num_features")
        checked = affine or track
        spatial = prod(shape[-n:])
        if spatial == 1:
            c.fail(f"training mode needs more than 1 spatial element per channel, but input "
                   f"{fmt_shape(shape)} has {spatial}", argument="input",
                   fix="a larger input, or track_running_stats=True and .eval()")
        notes = []
        if not checked and ch != nf:
            notes.append(note("num_features_ignored", given=nf, channels=ch))
        params = _affine_params(c, nf, affine)
        return c.result(shape, params=params, macs=prod(shape) if affine else 0, notes=notes)

    return rule


def _normalized_shape(c: Call) -> tuple[int, ...]:
    v = c.args["normalized_shape"]
    if is_int(v):
        v = (v,)
    if not isinstance(v, (list, tuple)) or not all(is_int(x) for x in v):
        c.bad_arg("normalized_shape", f"must be an integer or a tuple of integers, got {v!r}")
    ns = tuple(int(x) for x in v)
    if any(x < 0 for x in ns):
        c.fail(f"normalized_shape must not hold negative sizes, got {ns}", argument="normalized_shape")
    if not ns:
        c.fail("normalized_shape must hold at least one size", argument="normalized_shape")
    shape = c.input
    if len(shape) < len(ns) or tuple(shape[-len(ns):]) != ns:
        c.fail(f"normalized_shape {ns} must equal the input's last {len(ns)} dimension(s), got input of "
               f"shape {fmt_shape(shape)}", argument="normalized_shape",
               fix=f"normalized_shape={tuple(shape[-len(ns):]) if len(shape) >= len(ns) else shape}")
    return ns


@register("LayerNorm", [("normalized_shape", REQUIRED), ("eps", 1e-5), ("elementwise_affine", True),
                        ("bias", True)], family="norm", category=Category.NORM, functional=("layer_norm",))
def layer_norm(c: Call):
    c.float_arg("eps")
    affine = c.bool_arg("elementwise_affine")
    ns = _normalized_shape(c)
    params = _affine_params(c, prod(ns), affine)
    return c.result(c.input, params=params, macs=prod(c.input) if affine else 0)


@register("RMSNorm", [("normalized_shape", REQUIRED), ("eps", None), ("elementwise_affine", True)],
          family="norm", category=Category.NORM, functional=("rms_norm",))
def rms_norm(c: Call):
    c.float_arg("eps", allow_none=True)
    affine = c.bool_arg("elementwise_affine")
    ns = _normalized_shape(c)
    return c.result(c.input, params=prod(ns) if affine else 0, macs=prod(c.input) if affine else 0)


@register("GroupNorm", [("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5), ("affine", True),
                        ("bias", True)], family="norm", category=Category.NORM, functional=("group_norm",),
          notes=("num_channels_ignored",), inferred={"num_channels": lambda inputs: inputs[0][1]})
def group_norm(c: Call):
    shape = c.input
    if len(shape) < 2:
        c.fail(f"expected an input with at least 2 dimensions (N, C, *), got {len(shape)}D input of shape "
               f"{fmt_shape(shape)}", argument="input")
    g = c.int_arg("num_groups")
    ch_arg = c.int_arg("num_channels")
    c.float_arg("eps")
    affine = c.bool_arg("affine")
    # Constructor: Python's modulo (so a negative num_groups that divides passes here).
    if g == 0:
        c.fail("num_groups must be positive, got 0 (torch divides by it)", argument="num_groups")
    if ch_arg % g:
        c.fail(f"num_channels {ch_arg} is not divisible by num_groups {g}", argument="num_groups",
               fix=f"num_groups that divide {ch_arg}")
    if affine and ch_arg < 0:
        c.fail(f"num_channels must not be negative, got {ch_arg}", argument="num_channels")
    if g < 0:
        c.fail(f"num_groups must be positive, got {g}", argument="num_groups")
    ch = shape[1]
    if ch % g:
        c.fail(f"input channels {ch} are not divisible by num_groups {g} (input {fmt_shape(shape)})",
               argument="num_groups", fix=f"num_groups that divide {ch}")
    if affine and ch != ch_arg:
        c.fail(f"expected input with {ch_arg} channels (num_channels), got {ch} channels in input of shape "
               f"{fmt_shape(shape)}", argument="num_channels", fix=f"num_channels={ch}")
    per_group = (shape[0] * ch // g) * prod(shape[2:])
    if per_group == 1:
        c.fail(f"needs more than 1 value per group, but input {fmt_shape(shape)} with num_groups {g} has "
               f"1", argument="input", fix="a larger input, or fewer groups")
    notes = []
    if not affine and ch != ch_arg:
        notes.append(note("num_channels_ignored", given=ch_arg, channels=ch))
    params = _affine_params(c, ch_arg, affine)
    return c.result(shape, params=params, macs=prod(shape) if affine else 0, notes=notes)


@register("LocalResponseNorm", [("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)], family="norm",
          category=Category.NORM, functional=("local_response_norm",))
def local_response_norm(c: Call):
    size = c.int_arg("size")
    for name in ("alpha", "beta", "k"):
        c.float_arg(name)
    shape = c.input
    if len(shape) < 3:
        c.fail(f"expected an input with 3 or more dimensions (N, C, *), got {len(shape)}D input of shape "
               f"{fmt_shape(shape)}", argument="input")
    if size <= 0 and prod(shape) > 0:
        c.fail(f"size must be positive, got {size}", argument="size")
    # One multiply-accumulate per channel in the window (the sum of squares).
    return c.result(shape, macs=prod(shape) * max(size, 0))


for _n in (1, 2, 3):
    register(f"BatchNorm{_n}d", _bn_signature(), family="norm", category=Category.NORM, short="BatchNorm",
             functional=("batch_norm",), notes=("bn_train_eps", "bn_train_single_value", "num_features_ignored"),
             inferred={"num_features": lambda inputs: inputs[0][1]})(_batch_norm(_n))
    register(f"InstanceNorm{_n}d", _in_signature(), family="norm", category=Category.NORM, short="InstanceNorm",
             functional=("instance_norm",), notes=("num_features_ignored",),
             inferred={"num_features": (lambda k: lambda inputs: inputs[0][-(k + 1)])(_n)})(_instance_norm(_n))
