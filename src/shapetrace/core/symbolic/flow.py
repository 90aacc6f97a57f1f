"""A flow over symbolic shapes: layers (through the core's rules) and the ops that
combine or reshape tensors (add, cat, view, flatten, permute). A spec's tree walks
through it here; the tracer's adapter (trace/symbolic_probe.py) drives it for a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from .. import shapes
from ..errors import ShapeError
from .constraints import Constraint, Kind
from .expr import Dim, Lin
from .layers import Shape, Unmodelled, apply, flatten_dims


def wrap_dim(row: str, d: Any, rank: int) -> int:
    """``d`` as torch wraps a dimension (``maybe_wrap_dim``: -1 is the last; a 0-d tensor
    takes -1 and 0); out of range it is the error torch raises at every size. A dimension
    that is not a number is not modelled."""
    if isinstance(d, bool) or not isinstance(d, int):
        raise Unmodelled(row, f"a dimension given as {type(d).__name__}")
    wrapped = shapes.wrap_dim(d, rank)
    if wrapped is None:
        raise ShapeError(f"{row}: {shapes.dim_out_of_range(d, rank)}")
    return wrapped


@dataclass
class SymRow:
    name: str
    kind: str
    output: Shape


class SymFlow:
    def __init__(self, input_shape: Sequence[int], dims: Sequence[int]):
        self.input_shape = tuple(input_shape)
        self.dims = tuple(dims)
        self.rows: list[SymRow] = []
        self.constraints: list[Constraint] = []

    def input(self) -> Shape:
        return tuple(Dim.axis(self.dims.index(i)) if i in self.dims else Dim.const(v)
                     for i, v in enumerate(self.input_shape))

    def record(self, row: str, kind: str, shape: Shape) -> Shape:
        self.rows.append(SymRow(row, kind, tuple(shape)))
        return shape

    def need(self, row: str, kind: Kind, a: Dim, b: Dim | None = None, out: Dim | None = None) -> None:
        """Add a constraint unless it holds for every size (structurally equal sides)."""
        if kind in (Kind.EQUAL, Kind.BROADCAST, Kind.BATCH) and a == b:
            return
        if kind is Kind.INTEGRAL and a.coef.denominator == 1:
            return
        self.constraints.append(Constraint(row, kind, a, b, out=out))

    # -- layers and ops
    def layer(self, row: str, layer: str, kwargs: dict[str, Any], x: Shape) -> Shape:
        return self.record(row, layer, apply(layer, kwargs, x, row, self.constraints))

    def add(self, row: str, a: Shape, b: Shape, kind: str = "add") -> Shape:
        """Broadcasting (https://pytorch.org/docs/stable/notes/broadcasting.html)."""
        n = max(len(a), len(b))
        one = Dim.const(1)
        pa = (one,) * (n - len(a)) + tuple(a)
        pb = (one,) * (n - len(b)) + tuple(b)
        out = []
        for x, y in zip(pa, pb):
            if x == y or y == one:
                out.append(x)
            elif x == one:
                out.append(y)
            else:
                # the flow goes on with one side as the output; where the other is the 1 that
                # broadcasts, that output is wrong, and the solver says the answer is not exact
                assumed = y if y.is_const else x
                self.need(row, Kind.BROADCAST, x, y, out=assumed)
                out.append(assumed)
        return self.record(row, kind, tuple(out))

    def cat(self, row: str, shapes: Sequence[Shape], dim: int) -> Shape:
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= dim < rank:
            raise ShapeError(f"{row}: cat of tensors of different ranks or dim {dim} out of range")
        d = dim % rank
        for s in shapes[1:]:
            for i in range(rank):
                if i != d:
                    self.need(row, Kind.EQUAL, shapes[0][i], s[i])
        parts = [s[d] for s in shapes]
        total = sum((p.coef for p in parts if p.is_const), Fraction(0))
        var = [p for p in parts if not p.is_const]
        if not var:
            joined = Dim.const(int(total))
        elif all(p == var[0] for p in var) and var[0].single is not None and total.denominator == 1:
            joined = var[0].map(Lin(len(var), int(total), 1))
        else:
            raise Unmodelled(row, "cat of several varying sizes along the cat dimension")
        # the other dimensions are equal wherever the cat runs: the simplest of them is shown
        # (a U-Net's skip cat is (1, 4, H, W), not (1, 4, 4·⌊H/4⌋, 4·⌊W/4⌋))
        same = [min((s[i] for s in shapes), key=_steps) for i in range(rank)]
        return self.record(row, "cat", tuple(joined if i == d else same[i] for i in range(rank)))

    def flatten(self, row: str, x: Shape, start: int = 0, end: int = -1, kind: str = "flatten") -> Shape:
        rank = len(x)
        s, e = wrap_dim(row, start, rank), wrap_dim(row, end, rank)
        if s > e:
            raise ShapeError(f"{row}: flatten() has invalid args: start_dim cannot come after end_dim")
        out = flatten_dims(x, s, e) if rank else (Dim.const(1),)
        self._batch(row, x, out)
        return self.record(row, kind, out)

    def view(self, row: str, x: Shape, sizes: Sequence[Dim | int], kind: str = "view") -> Shape:
        """``x.view(*sizes)`` / ``reshape``: -1 is inferred from the element count."""
        numel = Dim.const(1)
        for d in x:
            numel = numel * d
        known = Dim.const(1)
        free = None
        dims: list[Dim | None] = []
        for i, s in enumerate(sizes):
            if isinstance(s, int) and s == -1:
                if free is not None:
                    raise ShapeError(f"{row}: only one dimension can be inferred")
                free = i
                dims.append(None)
                continue
            d = Dim.const(s) if isinstance(s, int) else s
            known = known * d
            dims.append(d)
        if free is None:
            self.need(row, Kind.EQUAL, known, numel)
        else:
            inferred = _divide(numel, known)
            if inferred is None:
                raise Unmodelled(row, f"{kind} infers -1 from sizes that do not divide the element count")
            self.need(row, Kind.INTEGRAL, inferred)
            dims[free] = inferred
        out = tuple(dims)  # type: ignore[arg-type]
        self._batch(row, x, out)
        return self.record(row, kind, out)

    def permute(self, row: str, x: Shape, order: Sequence[int], kind: str = "permute") -> Shape:
        if len(order) != len(x):
            raise ShapeError(f"{row}: permute(): the input has {len(x)} dimensions but the order {tuple(order)} "
                             f"names {len(order)}")
        dims = [wrap_dim(row, i, len(x)) for i in order]
        if len(set(dims)) != len(dims):
            raise ShapeError(f"{row}: permute(): duplicate dims are not allowed")
        return self.record(row, kind, tuple(x[i] for i in dims))

    def _batch(self, row: str, x: Shape, out: Shape) -> None:
        """The tracer's batch-fold check: a reshape must keep the batch size."""
        if len(x) >= 2 and out and out[0] != x[0]:
            self.need(row, Kind.BATCH, out[0], x[0])


def _steps(d: Dim) -> int:
    return sum(len(c.steps) for c in d.factors)


def _divide(a: Dim, b: Dim) -> Dim | None:
    """a / b when b's factors are among a's (a monomial quotient), else None."""
    rest = list(a.factors)
    for f in b.factors:
        if f not in rest:
            return None
        rest.remove(f)
    if b.coef == 0:
        return None
    return Dim(a.coef / b.coef, tuple(rest))


# --------------------------------------------------------------------------- specs


def spec_flow(spec, flow: SymFlow) -> Shape:
    """Walk a spec's tree (core/spec.py) as its ``_Flow`` does, with row names alike."""
    from ..spec import ConcatNode, LayerNode, ResidualNode, SequentialNode, child_name

    def seq(nodes, prefix, x, section=""):
        for i, n in enumerate(nodes):
            x = node(n, child_name(prefix, section, n.name, i), x)
        return x

    def node(n, qual, x):
        if isinstance(n, LayerNode):
            return flow.layer(qual, n.type, dict(n.kwargs), x)
        if isinstance(n, SequentialNode):
            return seq(n.layers, qual, x)
        if isinstance(n, ResidualNode):
            body = seq(n.body, qual, x, "body")
            sc = x if n.shortcut is None else seq(n.shortcut, qual, x, "shortcut")
            out = flow.add(qual + ".add", body, sc)
            return seq(n.post, qual, out, "post") if n.post else out
        assert isinstance(n, ConcatNode)
        outs = [seq(b, qual, x, f"branches.{i}") for i, b in enumerate(n.branches)]
        return flow.cat(qual + ".cat", outs, n.dim)

    return seq(spec.layers, "", flow.input())
