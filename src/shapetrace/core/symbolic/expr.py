"""Sizes as expressions of the varying input sizes (no torch).

A varying axis (``H``) goes through a chain of per-dimension maps, one per layer. Each
map is one of the core's per-dimension formulas (core/formulas.py) written as a step:

- ``Lin(p, q, r)``: ``x -> floor((p*x + q) / r)``. Convolution and floor-mode pooling
  (``floor((x + 2*padding - dilation*(k-1) - 1)/stride) + 1 = floor((x + q)/stride)``),
  padding (``x + left + right``), transposed convolution (``stride*x + q``) and integer
  upsampling (``k*x``) are all of this form.
- ``Call1(fn, ...)``: any other monotone map, evaluated by the core's own integer
  formula (ceil-mode pooling with its last-window rule, fractional upsampling).

Two ``Lin`` steps compose into one where that is exact:
``floor((floor((p x + q)/r) + b)/s) = floor((p x + q + b r)/(r s))`` and
``floor((p' (p x + q) + q')/r') `` when the inner step has ``r = 1``; so three 2x2 pools
read ``⌊H/8⌋``. Every step is monotone non-decreasing, so a chain is too: the sizes
that give one value form an interval (``Chain.run_end`` finds its end).

A ``Dim`` is a rational coefficient times a product of chains (``128·⌊H/8⌋·⌊W/8⌋``
after a flatten); a constant ``Dim`` has no factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

SUPER = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Lin:
    """x -> floor((p*x + q) / r), p >= 1, r >= 1."""

    p: int
    q: int
    r: int

    def __call__(self, x: int) -> int:
        return (self.p * x + self.q) // self.r

    @property
    def least(self) -> int | None:
        """The smallest x >= 1 with self(x) >= 1: (p*x + q) >= r."""
        x = max(1, -(-(self.r - self.q) // self.p))
        return x if self(x) >= 1 else None

    def then(self, nxt: "Lin") -> "Lin | None":
        """``nxt(self(x))`` as one Lin, or None when it is not one."""
        if nxt.p == 1:
            return _norm(self.p, self.q + nxt.q * self.r, self.r * nxt.r)
        if self.r == 1:
            return _norm(nxt.p * self.p, nxt.p * self.q + nxt.q, nxt.r)
        return None

    def text(self, inner: str, atomic: bool) -> str:
        p, q, r = self.p, self.q, self.r
        if r == 1:
            body = _affine(p, inner, atomic, q)
            return body
        if p == 1 and q == 0:
            return f"⌊{inner}/{r}⌋"
        if p == 1 and q == r - 1:
            return f"⌈{inner}/{r}⌉"
        if -r < q < r:
            return f"⌊({_affine(p, inner, atomic, q)})/{r}⌋"
        c, rest = divmod(q, r)
        return _plus(Lin(p, rest, r).text(inner, atomic), c)


def _norm(p: int, q: int, r: int) -> Lin:
    from math import gcd

    g = gcd(gcd(p, q), r)
    return Lin(p // g, q // g, r // g) if g > 1 else Lin(p, q, r)


def _plus(text: str, c: int) -> str:
    if c == 0:
        return text
    return f"{text} + {c}" if c > 0 else f"{text} − {-c}"


def _affine(p: int, inner: str, atomic: bool, q: int) -> str:
    if p == 1:
        head = inner
    else:
        head = f"{p}·{inner if atomic else '(' + inner + ')'}"
    return _plus(head, q)


@dataclass(frozen=True)
class Call1:
    """A monotone map the Lin form does not cover, evaluated by the core's integer formula.

    ``fn`` must be monotone non-decreasing (the solver relies on it); ``label`` renders it
    around the inner text, e.g. ``"⌈({x} − 1)/2⌉ + 1*"``.
    """

    fn: Callable[[int], int]
    label: str
    key: tuple  # what identifies the map (two equal keys are the same function)

    def __call__(self, x: int) -> int:
        return self.fn(x)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Call1) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def text(self, inner: str, atomic: bool) -> str:
        return self.label.format(x=inner if atomic else f"({inner})")


Step = "Lin | Call1"


@dataclass(frozen=True)
class Chain:
    """One varying input axis (``var``) after a sequence of per-dimension maps."""

    var: int
    steps: tuple = ()

    def __call__(self, x: int) -> int:
        for s in self.steps:
            x = s(x)
        return x

    def then(self, step) -> "Chain":
        if isinstance(step, Lin) and step == Lin(1, 0, 1):
            return self
        steps = list(self.steps)
        if isinstance(step, Lin) and steps and isinstance(steps[-1], Lin):
            merged = steps[-1].then(step)
            if merged is not None:
                steps[-1] = merged
                if merged == Lin(1, 0, 1):
                    steps.pop()
                return Chain(self.var, tuple(steps))
        steps.append(step)
        return Chain(self.var, tuple(steps))

    def text(self, names: Sequence[str]) -> str:
        out, atomic = names[self.var], True
        for s in self.steps:
            out = s.text(out, atomic)
            atomic = _atomic(out)
        return out

    def run_end(self, x: int, top: int) -> int:
        """The largest y in [x, top] with self(y) == self(x) (the chain is monotone)."""
        v = self(x)
        if self(top) == v:
            return top
        lo, hi = x, top  # self(lo) == v, self(hi) > v
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self(mid) == v:
                lo = mid
            else:
                hi = mid
        return lo

    def least_at_least(self, m: int, top: int) -> int | None:
        """The smallest x in [1, top] with self(x) >= m, or None."""
        if self(top) < m:
            return None
        lo, hi = 0, top  # self(hi) >= m; lo is below the answer
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self(mid) >= m:
                hi = mid
            else:
                lo = mid
        return hi


@dataclass(frozen=True)
class Dim:
    """coef · prod(factors): a size as a function of the varying input sizes."""

    coef: Fraction
    factors: tuple[Chain, ...] = ()

    @staticmethod
    def const(n: int) -> "Dim":
        return Dim(Fraction(n))

    @staticmethod
    def axis(var: int) -> "Dim":
        return Dim(Fraction(1), (Chain(var),))

    @property
    def is_const(self) -> bool:
        return not self.factors

    @property
    def value(self) -> int:
        """The constant's value (only for a constant Dim with an integer value)."""
        assert self.is_const and self.coef.denominator == 1
        return int(self.coef)

    @property
    def single(self) -> Chain | None:
        """The chain when the Dim is exactly one chain (a per-axis size), else None."""
        if self.coef == 1 and len(self.factors) == 1:
            return self.factors[0]
        return None

    @property
    def vars(self) -> frozenset[int]:
        return frozenset(c.var for c in self.factors)

    def map(self, step) -> "Dim":
        ch = self.single
        assert ch is not None
        return Dim(Fraction(1), (ch.then(step),))

    def __mul__(self, other: "Dim") -> "Dim":
        return Dim(self.coef * other.coef, _sorted(self.factors + other.factors))

    def scale(self, f: Fraction) -> "Dim":
        return Dim(self.coef * f, self.factors)

    def eval(self, point: Sequence[int]) -> Fraction:
        v = self.coef
        for c in self.factors:
            v *= c(point[c.var])
        return v

    def eval_atoms(self, values: dict[Chain, int]) -> Fraction:
        v = self.coef
        for c in self.factors:
            v *= values[c]
        return v

    def text(self, names: Sequence[str]) -> str:
        if not self.factors:
            return _frac(self.coef)
        parts = [c.text(names) for c in self.factors]
        if len(parts) > 1:
            parts = [p if _atomic(p) else f"({p})" for p in parts]
        body = "·".join(_powers(parts))
        if self.coef == 1:
            return body
        if self.coef.denominator == 1:
            return f"{self.coef}·{body if len(self.factors) > 1 or _atomic(body) else '(' + body + ')'}"
        num, den = self.coef.numerator, self.coef.denominator
        head = body if num == 1 else f"{num}·{body}"
        return f"{head}/{den}"


def _sorted(fs: tuple[Chain, ...]) -> tuple[Chain, ...]:
    return tuple(sorted(fs, key=lambda c: (c.var, repr(c.steps))))


def _powers(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if out and out[-1].split("²")[0] == p and not out[-1].endswith(tuple("³⁴⁵⁶⁷⁸⁹")):
            out[-1] = p + "²"
        else:
            out.append(p)
    return out


def _atomic(t: str) -> bool:
    if " " not in t:
        return True
    return t[0] in "⌊⌈(" and t[-1] in "⌋⌉)" and _balanced_outer(t)


def _balanced_outer(t: str) -> bool:
    depth = 0
    pairs = {"⌊": "⌋", "⌈": "⌉", "(": ")"}
    closing = set(pairs.values())
    for i, ch in enumerate(t):
        if ch in pairs:
            depth += 1
        elif ch in closing:
            depth -= 1
            if depth == 0 and i != len(t) - 1:
                return False
    return True


def _frac(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
