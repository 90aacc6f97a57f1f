"""The exact set of accepted sizes: a union of disjoint boxes over ``1..max`` per axis.

Every per-axis map is monotone non-decreasing, so:

- an ``AT_LEAST`` (``AT_MOST``) constraint on one axis holds from (up to) one size on,
  found by bisection: each axis starts as one interval;
- the other constraints depend on an axis only through the values of its chains, which
  are constant on intervals ("runs"); the runs of an axis are found by bisection too.

Axes that no constraint couples are solved on their own and the answer is the product
of the per-group answers. Within a group of coupled axes (a flatten followed by a
Linear couples H and W through ``128·⌊H/8⌋·⌊W/8⌋``) the distinct run values are
enumerated; an equality with a constant first keeps only runs whose values divide it
(a product of positive sizes equal to N has every factor dividing N).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from .constraints import Constraint, Kind
from .expr import Chain, Dim

MAX_COMBINATIONS = 4_000_000

Box = tuple[tuple[int, int], ...]


class TooMany(Exception):
    pass


@dataclass
class Group:
    vars: tuple[int, ...]
    boxes: list[Box]  # over self.vars, in that order


def bounds(n_vars: int, max_size: int, constraints: Sequence[Constraint]) -> list[tuple[int, int] | None]:
    """[lo, hi] per axis from the one-axis bound constraints (None: no size fits)."""
    out: list[tuple[int, int] | None] = [(1, max_size)] * n_vars
    for c in constraints:
        if c.kind not in (Kind.AT_LEAST, Kind.AT_MOST):
            continue
        ch = c.a.single
        assert ch is not None
        cur = out[ch.var]
        if cur is None:
            continue
        lo, hi = cur
        if c.kind is Kind.AT_LEAST:
            least = ch.least_at_least(c.bound, max_size)
            lo = max(lo, least) if least is not None else max_size + 1
        else:
            over = ch.least_at_least(c.bound + 1, max_size)
            if over is not None:
                hi = min(hi, over - 1)
        out[ch.var] = (lo, hi) if lo <= hi else None
    return out


def runs(chains: Sequence[Chain], lo: int, hi: int, starts: Sequence[int] = ()) -> list[tuple[int, int]]:
    """Maximal intervals of [lo, hi] on which every chain is constant (and none of which
    contains one of ``starts`` except as its first size)."""
    cuts = {hi + 1} | {x for x in starts if lo < x <= hi}
    for ch in chains:
        x = lo
        while x <= hi:
            end = ch.run_end(x, hi)
            cuts.add(end + 1)
            x = end + 1
    out, start = [], lo
    for c in sorted(cuts):
        out.append((start, c - 1))
        start = c
    return out


def value(d: Dim, vals: dict[Chain, int]) -> int | Fraction:
    """d at the chains' values; an int where the coefficient is whole (Fractions cost
    about 20x more, and the diagonal and the solver evaluate this many times)."""
    p = 1
    for c in d.factors:
        p *= vals[c]
    n, m = d.coef.numerator, d.coef.denominator
    return p * n if m == 1 else Fraction(p * n, m)


def check(c: Constraint, vals: dict[Chain, int]) -> bool:
    a = value(c.a, vals)
    b = value(c.b, vals) if c.b is not None else None
    return c.holds(a, b)


def solve(n_vars: int, max_size: int, constraints: Sequence[Constraint]) -> tuple[list[Group], list[str]]:
    """The accepted set as groups of coupled axes (the set is the product of the groups),
    and notes where an answer rests on an assumption (then it is not exact)."""
    lims = bounds(n_vars, max_size, constraints)
    coupled = [c for c in constraints if c.kind not in (Kind.AT_LEAST, Kind.AT_MOST)]
    parent = list(range(n_vars))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for c in coupled:
        vs = sorted(c.vars)
        for v in vs[1:]:
            parent[find(v)] = find(vs[0])
    members: dict[int, list[int]] = {}
    for v in range(n_vars):
        members.setdefault(find(v), []).append(v)
    notes: list[str] = []
    if any(_loose_below_bounds(c, max_size) for c in constraints if c.kind is Kind.BROADCAST):
        notes.append(_LOOSE)
    groups = []
    for vs in members.values():
        cons = [c for c in coupled if c.vars and find(next(iter(c.vars))) == find(vs[0])]
        consts = [c for c in coupled if not c.vars]
        if any(lims[v] is None for v in vs) or not all(check(c, {}) for c in consts):
            groups.append(Group(tuple(vs), []))
            continue
        groups.append(Group(tuple(vs), _solve_group(vs, lims, cons, notes)))
    return groups, notes


def _solve_group(vs, lims, cons, notes) -> list[Box]:
    if not cons:
        return [tuple(lims[v] for v in vs)]
    chains = {v: sorted({ch for c in cons for d in (c.a, c.b) if d is not None for ch in d.factors
                         if ch.var == v}, key=repr) for v in vs}
    per_var = {}
    for v in vs:
        lo, hi = lims[v]
        rs = runs(chains[v], lo, hi)
        per_var[v] = [(r, {ch: ch(r[0]) for ch in chains[v]}) for r in rs]
    for c in cons:  # prefilter: a product of positive sizes equal to a constant
        if c.kind not in (Kind.EQUAL, Kind.BATCH) or c.b is None:
            continue
        for mono, const in ((c.a, c.b), (c.b, c.a)):
            if const.is_const and not mono.is_const and const.coef > 0:
                target = const.coef / mono.coef
                for v in vs:
                    per_var[v] = [(r, vals) for r, vals in per_var[v]
                                  if all(_divides(vals[ch], target) for ch in mono.factors if ch.var == v)]
    total = 1
    for v in vs:
        total *= max(len(per_var[v]), 1)
    if total > MAX_COMBINATIONS:
        raise TooMany(f"{total:,} combinations of distinct sizes to check; use a smaller --max")
    boxes: list[Box] = []
    loose = False
    broadcasts = [c for c in cons if c.kind is Kind.BROADCAST]
    for combo in itertools.product(*(per_var[v] for v in vs)):
        vals: dict[Chain, int] = {}
        for _, vv in combo:
            vals.update(vv)
        if all(check(c, vals) for c in cons):
            boxes.append(tuple(r for r, _ in combo))
        # A broadcast that holds because one side is 1 gives the other side, which is not
        # always the one the flow went on with: there the later constraints (accepted or
        # not) were computed from a wrong size, so the answer is not exact. Asked at every
        # combination, not only accepted ones: a wrong size can refuse what torch takes.
        loose = loose or any(_broadcast_differs(c, vals) for c in broadcasts)
    if loose and _LOOSE not in notes:
        notes.append(_LOOSE)
    return merge(boxes)


_LOOSE = "a broadcast of two varying sizes where one of them is 1 was assumed to give the other"


def _loose_below_bounds(c: Constraint, max_size: int) -> bool:
    """``_broadcast_differs`` anywhere in 1..max_size of a one-variable broadcast, also
    below the bounds the other constraints set: those bounds may come from the wrong size
    (Upsample(0.5) after ``avgpool(2H) + 2H`` wants H >= 2, but at H = 1 the sum is 2 wide)."""
    if len(c.vars) != 1:
        return False
    v = next(iter(c.vars))
    chains = sorted({ch for d in (c.a, c.b, c.out) if d is not None for ch in d.factors if ch.var == v}, key=repr)
    return any(_broadcast_differs(c, {ch: ch(r[0]) for ch in chains}) for r in runs(chains, 1, max_size))


def _broadcast_differs(c: Constraint, vals: dict[Chain, int]) -> bool:
    """At these sizes the broadcast holds by a side of 1, and its true output (the other
    side) is not the one the flow assumed (``Constraint.out``)."""
    a, b = value(c.a, vals), value(c.b, vals)
    if a == b or not (a == 1 or b == 1):
        return False
    true = b if a == 1 else a
    return c.out is None or value(c.out, vals) != true


def _divides(v: int, target: Fraction) -> bool:
    if v <= 0:
        return False
    if target.denominator != 1:
        return False
    return int(target) % v == 0


def merge(boxes: list[Box]) -> list[Box]:
    """Merge boxes that touch along one axis and agree on the others (stays disjoint)."""
    if not boxes:
        return []
    n = len(boxes[0])
    cur = sorted(set(boxes))
    for axis in reversed(range(n)):
        keyed: dict[tuple, list[tuple[int, int]]] = {}
        for b in cur:
            keyed.setdefault(b[:axis] + b[axis + 1:], []).append(b[axis])
        nxt = []
        for rest, ivs in keyed.items():
            ivs.sort()
            lo, hi = ivs[0]
            for a, b in ivs[1:]:
                if a == hi + 1:
                    hi = b
                else:
                    nxt.append(rest[:axis] + ((lo, hi),) + rest[axis:])
                    lo, hi = a, b
            nxt.append(rest[:axis] + ((lo, hi),) + rest[axis:])
        cur = sorted(nxt)
    return cur
