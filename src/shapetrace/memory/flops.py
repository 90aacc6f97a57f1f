"""FLOPs of the forward and the backward, by PyTorch's own formulas.

The formulas are ``torch.utils.flop_counter``'s registry (one per matmul, convolution and
attention kernel; elementwise ops count zero), applied the way ``FlopCounterMode`` applies
them: an op the registry lacks is decomposed first if it has a decomposition. So the totals
equal ``FlopCounterMode``'s on the same step, and each count also lands on a row: the
innermost module call in the forward, and in the backward the call whose forward created
the autograd node running (``torch._C._current_autograd_node()``, matched by the node's
sequence number).
"""

from __future__ import annotations

import bisect


def registry():
    from torch.utils.flop_counter import flop_registry

    return flop_registry


def count(func, args, kwargs, out) -> int:
    fn = registry().get(func._overloadpacket)
    if fn is None:
        return 0
    return int(fn(*args, **kwargs, out_val=out))


class NodeRows:
    """Autograd node sequence numbers -> the row whose forward created them.

    The forward records the sequence number of each op's output node; nodes an op creates
    inside itself have numbers between the previous op's and its own, so a node belongs to
    the first recorded number at or above its own.
    """

    def __init__(self) -> None:
        self._marks: dict[int, object] = {}
        self._keys: list[int] | None = None
        self._rows: list[object] = []

    def mark(self, seq: int, row) -> None:
        self._marks.setdefault(seq, row)
        self._keys = None

    def row_of(self, seq: int):
        if self._keys is None:
            self._keys = sorted(self._marks)
            self._rows = [self._marks[k] for k in self._keys]
        i = bisect.bisect_left(self._keys, seq)
        if i == len(self._keys):
            return None
        return self._rows[i]
