"""The answer: which sizes a model takes, why the others fail, and what to change.

``AcceptedSizes`` holds the accepted set as groups of coupled axes (the set is the
product of the groups' box lists), the constraints, the rows' symbolic shapes, and
whether the answer is exact (``probed`` says which op was probed at which sizes when
it is not). Numbers only; ``render/sizes.py`` makes the text.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Any, Sequence

from .constraints import Constraint, Kind
from .expr import Chain
from .flow import SymRow
from .solve import Box, Group, check, runs, value


class Status(str, Enum):
    ACCEPTED = "accepted"
    FOLDS = "folds"  # runs, but some row changes the batch size
    RAISES = "raises"


@dataclass
class PointStatus:
    status: Status
    failed: list[Constraint]
    rows_per_sample: Fraction | None = None  # for FOLDS


@dataclass
class AcceptedSizes:
    dims: tuple[int, ...]
    names: tuple[str, ...]
    max: int
    groups: list[Group]
    constraints: list[Constraint]
    rows: list[SymRow]
    exact: bool = True
    notes: list[str] = field(default_factory=list)
    probed: dict[str, Any] | None = None  # {"op": ..., "sizes": [...]} when not exact
    error: str | None = None  # the model fails at every size for a reason that does not vary
    input_shape: tuple[int, ...] = ()
    _chain_list: list[Chain] | None = field(default=None, init=False, repr=False, compare=False)
    _boxes: list[Box] | None = field(default=None, init=False, repr=False, compare=False)

    # -- the set
    @property
    def boxes(self) -> list[Box]:
        """Disjoint boxes, one [lo, hi] per varying axis (in ``dims`` order): the product of
        the groups' boxes (a U-Net's H and W, each a multiple of 4, give 1024 x 1024 boxes
        at --max 4096, so the list is built once)."""
        if self._boxes is None:
            if any(not g.boxes for g in self.groups):
                self._boxes = []
            else:
                flat = [v for g in self.groups for v in g.vars]
                where = [flat.index(v) for v in range(len(self.dims))]
                out = []
                for combo in itertools.product(*(g.boxes for g in self.groups)):
                    joined = sum(combo, ())
                    out.append(tuple(joined[i] for i in where))
                out.sort()
                self._boxes = out
        return self._boxes

    @property
    def n_boxes(self) -> int:
        n = 1
        for g in self.groups:
            n *= len(g.boxes)
        return n

    @property
    def count(self) -> int:
        total = 1
        for g in self.groups:
            n = 0
            for b in g.boxes:
                k = 1
                for lo, hi in b:
                    k *= hi - lo + 1
                n += k
            total *= n
        return total

    def contains(self, sizes: Sequence[int]) -> bool:
        sizes = tuple(sizes)
        if len(sizes) != len(self.dims):
            raise ValueError(f"expected {len(self.dims)} sizes ({', '.join(self.names)}), got {len(sizes)}")
        return all(any(all(lo <= sizes[v] <= hi for v, (lo, hi) in zip(g.vars, b)) for b in g.boxes)
                   for g in self.groups)

    # -- one point
    def status(self, sizes: Sequence[int]) -> PointStatus:
        """Accepted, folds the batch, or raises, with the constraints that fail."""
        if self.error is not None:
            return PointStatus(Status.RAISES, [])
        vals = {ch: ch(sizes[ch.var]) for ch in self._chains()}
        failed = [c for c in self.constraints if not check(c, vals)]
        hard = [c for c in failed if c.kind is not Kind.BATCH]
        if hard:
            return PointStatus(Status.RAISES, hard)
        if failed:
            c = failed[0]
            return PointStatus(Status.FOLDS, failed, Fraction(value(c.a, vals)) / value(c.b, vals))
        if not self.exact:
            return PointStatus(Status.ACCEPTED if self.contains(sizes) else Status.RAISES, [])
        return PointStatus(Status.ACCEPTED, [])

    def nearest(self, sizes: Sequence[int], k: int = 3) -> list[tuple[int, ...]]:
        """The accepted sizes closest to ``sizes`` (sum of absolute differences)."""
        per_group = []
        for g in self.groups:
            cands = []
            for b in g.boxes[:200_000]:
                pt = tuple(min(max(sizes[v], lo), hi) for v, (lo, hi) in zip(g.vars, b))
                cands.append((sum(abs(p - sizes[v]) for v, p in zip(g.vars, pt)), pt))
            cands.sort()
            per_group.append(cands[:k])
        if any(not c for c in per_group):
            return []
        combos = []
        for combo in itertools.product(*per_group):
            pt = [0] * len(self.dims)
            for g, (_, p) in zip(self.groups, combo):
                for v, x in zip(g.vars, p):
                    pt[v] = x
            combos.append((sum(d for d, _ in combo), tuple(pt)))
        combos.sort()
        return [p for _, p in combos[:k]]

    def diagonal(self) -> list[tuple[int, int, PointStatus]]:
        """Along equal sizes on every varying axis (square inputs): runs of one status."""
        if self.error is not None or not self.exact:
            return []
        # a one-axis bound changes its answer at one size only: a cut, not runs of its chain
        bound = (Kind.AT_LEAST, Kind.AT_MOST)
        diag = {Chain(0, ch.steps) for c in self.constraints if c.kind not in bound
                for d in (c.a, c.b) if d is not None for ch in d.factors}
        cuts = []
        for c in self.constraints:
            if c.kind in bound and c.a.single is not None:
                x = Chain(0, c.a.single.steps).least_at_least(c.bound + (c.kind is Kind.AT_MOST), self.max)
                if x is not None:
                    cuts.append(x)
        out: list[tuple[int, int, PointStatus]] = []
        for lo, hi in runs(sorted(diag, key=repr), 1, self.max, cuts):
            st = self.status((lo,) * len(self.dims))
            if out:
                plo, _, pst = out[-1]
                if (pst.status, pst.rows_per_sample) == (st.status, st.rows_per_sample) and \
                        [id(c) for c in pst.failed[:1]] == [id(c) for c in st.failed[:1]]:
                    out[-1] = (plo, hi, pst)
                    continue
            out.append((lo, hi, st))
        return out

    def _chains(self) -> list[Chain]:
        if self._chain_list is None:
            self._chain_list = sorted({ch for c in self.constraints for d in (c.a, c.b, c.out) if d is not None
                                       for ch in d.factors}, key=repr)
        return self._chain_list

    def advice(self) -> list[str]:
        """How to make the model take any size, by the kinds of constraint it has."""
        kinds = {(c.kind, _row_kind(self, c.row)) for c in self.constraints}
        tips = []
        if any(k is Kind.BATCH for k, _ in kinds):
            tips.append("keep the batch: x.flatten(1) (or x.view(x.size(0), -1)) instead of x.view(-1, N)")
        if any(k is Kind.EQUAL and rk == "Linear" for k, rk in kinds) or any(k is Kind.INTEGRAL for k, _ in kinds):
            tips.append("make the head size-free: nn.AdaptiveAvgPool2d(s) before the flatten fixes the map at "
                        "s x s for any input; or flatten(1) + nn.LazyLinear, which reads in_features at the "
                        "first call")
        if any(k in (Kind.EQUAL, Kind.BROADCAST) and rk in ("add", "cat") for k, rk in kinds):
            tips.append("make the branches agree: padding that keeps each stage at ⌈H/2⌉, or resize the "
                        "upsampled map to the skip's size (F.interpolate(x, size=skip.shape[2:])) before "
                        "the add/cat")
        if any(k is Kind.AT_LEAST for k, _ in kinds):
            tips.append("small inputs: pad them up to the smallest accepted size, or downsample less "
                        "(fewer strided layers, padding)")
        if any(k is Kind.AT_MOST for k, _ in kinds):
            tips.append("longer inputs need a larger position table (num_embeddings)")
        return tips

    def binding(self) -> list[tuple[Constraint, int | None]]:
        """The constraints the text and the JSON list: per axis only the one-axis lower
        (upper) bound that binds, the largest (smallest), as the others follow from it;
        with it the size it means (``H >= 8``); then every other constraint once."""
        low: dict[int, tuple[int, Constraint]] = {}
        high: dict[int, tuple[int, Constraint]] = {}
        other: list[tuple[Constraint, int | None]] = []
        texts: set[str] = set()
        for c in self.constraints:
            ch = c.a.single
            if c.kind is Kind.AT_LEAST and ch is not None:
                x = ch.least_at_least(c.bound, self.max)
                x = self.max + 1 if x is None else x
                if ch.var not in low or x > low[ch.var][0]:
                    low[ch.var] = (x, c)
            elif c.kind is Kind.AT_MOST and ch is not None:
                over = ch.least_at_least(c.bound + 1, self.max)
                x = self.max if over is None else over - 1
                if ch.var not in high or x < high[ch.var][0]:
                    high[ch.var] = (x, c)
            else:
                t = c.text(self.names)
                if t not in texts:
                    texts.add(t)
                    other.append((c, None))
        bounds = [(c, x) for v in sorted(low) for x, c in [low[v]]]
        bounds += [(c, x) for v in sorted(high) for x, c in [high[v]]]
        return bounds + other

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "dims": list(self.dims),
            "names": list(self.names),
            "max": self.max,
            "accepted": [[list(iv) for iv in b] for b in self.boxes],
            "constraints": [{"row": c.row, "text": c.text(self.names)} for c, _ in self.binding()],
            "exact": self.exact,
            "rows": [{"name": r.name, "kind": r.kind, "output": [x.text(self.names) for x in r.output]}
                     for r in self.rows],
        }
        if self.notes:
            d["notes"] = list(self.notes)
        if self.probed is not None:
            d["probed"] = self.probed
        if self.error is not None:
            d["error"] = self.error
        return d


def _row_kind(res: AcceptedSizes, name: str) -> str:
    for r in res.rows:
        if r.name == name:
            return r.kind
    return name.rsplit(".", 1)[-1]
