"""What a size must satisfy for the model to take it, each tied to the row that imposes it.

Kinds (every one is checked exactly by the solver):

- ``AT_LEAST``: a per-axis size must reach the smallest input the layer's own rule in the
  core accepts (``pool3: ⌊H/8⌋ >= 1``); an up-set of the input size, as every map is
  monotone.
- ``AT_MOST``: a per-axis size may not exceed a bound (positions of an Embedding table).
- ``EQUAL``: two sizes must be equal (Linear's ``in_features``, a LayerNorm's shape,
  a reshape's element count).
- ``BROADCAST``: ``a + b`` broadcasts: equal, or one of them is 1.
- ``INTEGRAL``: a size inferred by ``view(-1, ...)`` must be a whole number.
- ``BATCH``: the batch size must stay what it was; sizes that fail only this one run,
  but fold the batch (the tracer's batch-fold check), and are not accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Sequence

from .expr import Dim


class Kind(str, Enum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    EQUAL = "equal"
    BROADCAST = "broadcast"
    INTEGRAL = "integral"
    BATCH = "batch"


@dataclass(frozen=True)
class Constraint:
    row: str
    kind: Kind
    a: Dim
    b: Dim | None = None
    bound: int = 0
    # For AT_LEAST: the layer's own per-axis output, to say "⌊H/8⌋ >= 1" rather than
    # "⌊H/4⌋ >= 2" where that is the same condition.
    out: Dim | None = None

    @property
    def vars(self) -> frozenset[int]:
        return self.a.vars | (self.b.vars if self.b is not None else frozenset())

    def holds(self, va: Fraction, vb: Fraction | None = None) -> bool:
        k = self.kind
        if k is Kind.AT_LEAST:
            return va >= self.bound
        if k is Kind.AT_MOST:
            return va <= self.bound
        if k in (Kind.EQUAL, Kind.BATCH):
            return va == vb
        if k is Kind.BROADCAST:
            return va == vb or va == 1 or vb == 1
        return va.denominator == 1  # INTEGRAL

    def text(self, names: Sequence[str]) -> str:
        a = self.a.text(names)
        k = self.kind
        if k is Kind.AT_LEAST:
            if self.out is not None:
                return f"{self.row}: {self.out.text(names)} >= 1"
            return f"{self.row}: {a} >= {self.bound}"
        if k is Kind.AT_MOST:
            return f"{self.row}: {a} <= {self.bound}"
        b = self.b.text(names) if self.b is not None else ""
        if k is Kind.EQUAL:
            return f"{self.row} needs {a} = {b}"
        if k is Kind.BROADCAST:
            return f"{self.row} needs {a} = {b} (or either is 1)"
        if k is Kind.INTEGRAL:
            return f"{self.row} needs {a} to be a whole number"
        return f"{self.row} keeps the batch only if {a} = {b}; otherwise it folds the batch"
