"""Receptive field (size, jump, start) through a flow, per spatial dimension.

For a sliding window of ``k`` taps, dilation ``d``, stride ``s`` and low-side
padding ``p`` applied to a feature map whose positions are ``j`` input pixels
apart (Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019, eqs. 1-3 generalised to dilation):

    size_out  = size_in + (k - 1) * d * j
    jump_out  = j * s
    start_out = start_in + ((k - 1) * d / 2 - p) * j

Where two paths meet (a residual add, a concat) the field of an output is the
union of the fields of the two paths, as far as each reaches.
"""

from __future__ import annotations

from .records import LayerResult, ReceptiveField, RFMode


def initial(ndim: int) -> ReceptiveField:
    """The field of the input itself: each position sees one pixel, centred on itself."""
    return ReceptiveField((1,) * ndim, (1,) * ndim, (0.0,) * ndim)


def apply(rf: ReceptiveField | None, result: LayerResult) -> ReceptiveField | None:
    """The field after the layer ``result`` describes; None once it is not one window."""
    if rf is None:
        return None
    mode = result.rf_mode
    if mode is RFMode.IDENTITY:
        return rf
    if mode is not RFMode.WINDOW or result.rf is None:
        return None
    op = result.rf
    n = len(op.kernel)
    if n != len(rf.size):
        return None
    size, jump, start = [], [], []
    for i in range(n):
        k, s, p, d = op.kernel[i], op.stride[i], op.padding[i], op.dilation[i]
        j = rf.jump[i]
        size.append(rf.size[i] + (k - 1) * d * j)
        jump.append(j * s)
        start.append(rf.start[i] + ((k - 1) * d / 2 - p) * j)
    return ReceptiveField(tuple(size), tuple(jump), tuple(start))


def merge(a: ReceptiveField | None, b: ReceptiveField | None) -> ReceptiveField | None:
    """The field of ``a + b`` (or a concat): the union of both windows.

    Both paths must step over the input alike (same jump); otherwise the output
    positions do not correspond to one window and the field is undefined.
    """
    if a is None or b is None:
        return None
    if a.jump != b.jump or len(a.size) != len(b.size):
        return None
    size, start = [], []
    for i in range(len(a.size)):
        lo = min(a.start[i] - (a.size[i] - 1) / 2, b.start[i] - (b.size[i] - 1) / 2)
        hi = max(a.start[i] + (a.size[i] - 1) / 2, b.start[i] + (b.size[i] - 1) / 2)
        size.append(int(round(hi - lo)) + 1)
        start.append((lo + hi) / 2)
    return ReceptiveField(tuple(size), a.jump, tuple(start))
