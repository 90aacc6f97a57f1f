"""Which input sizes a model takes: shapes as formulas of the varying input sizes, and the
exact accepted set (no torch). ``analyze_spec`` answers for a spec; the tracer's adapter
(trace/symbolic_probe.py) answers for an nn.Module with the same engine.

Modules: ``expr`` (per-axis chains of the core's formulas, simplified where exact),
``layers`` (one layer through the core's rules), ``flow`` (ops and the spec walk),
``constraints``, ``solve`` (the boxes), ``result`` (the answer, nearest sizes, advice).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..errors import ShapeError, ShapetraceError
from .flow import SymFlow, spec_flow
from .layers import Unmodelled
from .result import AcceptedSizes, PointStatus, Status
from .solve import Group, TooMany, merge, solve

DEFAULT_MAX = 4096
MAX_LIMIT = 1 << 16  # beyond this a box list of a coupled model could be too long to print
MAX_PROBES = 4096

__all__ = ["AcceptedSizes", "PointStatus", "Status", "SizesError", "analyze_spec", "default_dims",
           "axis_names", "check_request", "from_flow", "probe", "rows_of", "spec_rows"]


class SizesError(ShapetraceError, ValueError):
    """Bad usage of the sizes question (exit code 2)."""


def default_dims(shape: Sequence[int], integer_input: bool = False) -> tuple[int, ...]:
    """Every axis after the channel axis for 3-D and larger inputs; the last axis otherwise."""
    if len(shape) >= 3:
        return tuple(range(2, len(shape)))
    return (len(shape) - 1,)


def axis_names(shape: Sequence[int], dims: Sequence[int]) -> tuple[str, ...]:
    n = len(shape)
    if tuple(dims) == tuple(range(2, n)) and 1 <= n - 2 <= 3:
        return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[n - 2]
    if n == 2 and tuple(dims) == (1,):
        return ("T",)
    return tuple(f"d{i}" for i in dims)


def check_request(shape: Sequence[int], dims: Sequence[int] | None, max_size: Any) -> tuple[int, ...]:
    """The varying axes, checked; SizesError names what is wrong."""
    if isinstance(max_size, bool) or not isinstance(max_size, int):
        raise SizesError(f"--max must be an integer, got {max_size!r}")
    if max_size < 1:
        raise SizesError(f"--max must be at least 1, got {max_size}")
    if max_size > MAX_LIMIT:
        raise SizesError(f"--max {max_size} is too large (at most {MAX_LIMIT})")
    if dims is None:
        dims = default_dims(shape)
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int):
            raise SizesError(f"--dims must be axis numbers, got {d!r}")
        if not -len(shape) <= d < len(shape):
            raise SizesError(f"--dims: axis {d} is out of range for the {len(shape)}-D input "
                             f"{tuple(shape)} (valid: 0 to {len(shape) - 1})")
        out.append(d % len(shape))
    if len(set(out)) != len(out):
        raise SizesError(f"--dims names an axis twice: {list(dims)}")
    if not out:
        raise SizesError("--dims must name at least one axis")
    return tuple(sorted(out))


def from_flow(flow: SymFlow, names: Sequence[str], max_size: int) -> AcceptedSizes:
    """Solve the constraints a finished flow collected."""
    try:
        groups, notes = solve(len(flow.dims), max_size, flow.constraints)
    except TooMany as e:
        raise SizesError(str(e)) from None
    return AcceptedSizes(flow.dims, tuple(names), max_size, groups, list(flow.constraints), list(flow.rows),
                         exact=not notes, notes=notes, input_shape=flow.input_shape)


def never(flow: SymFlow, names: Sequence[str], max_size: int, message: str) -> AcceptedSizes:
    """A model that fails whatever the varying sizes are (a constant mismatch)."""
    return AcceptedSizes(flow.dims, tuple(names), max_size, [Group(tuple(range(len(flow.dims))), [])],
                         list(flow.constraints), list(flow.rows), error=message, input_shape=flow.input_shape)


def sample_sizes(max_size: int, example: int) -> list[int]:
    """Sizes probed per axis when an op is not modelled: 1..16, powers of two and their
    neighbours, and the example's size."""
    s = set(range(1, min(16, max_size) + 1))
    p = 16
    while p <= max_size:
        s.update(x for x in (p - 1, p, p + 1) if 1 <= x <= max_size)
        p *= 2
    if 1 <= example <= max_size:
        s.add(example)
    return sorted(s)


def probe(shape: Sequence[int], dims: tuple[int, ...], names: Sequence[str], max_size: int,
          accepts: Callable[[tuple[int, ...]], bool], op: str, rows=()) -> AcceptedSizes:
    """Not exact: the sizes accepted among sampled ones, each a one-size box."""
    per = [sample_sizes(max_size, shape[d]) for d in dims]
    while _product(len(p) for p in per) > MAX_PROBES:
        # every other size, keeping the example's: "your input" is answered by a probe of
        # it, not by a box that a thinned sample happened to leave out
        thinner = [sorted(set(p[::2]) | ({shape[d]} & set(p))) if len(p) > 4 else p for p, d in zip(per, dims)]
        if thinner == per:
            break
        per = thinner
    points = []
    import itertools

    for pt in itertools.product(*per):
        if accepts(pt):
            points.append(tuple((x, x) for x in pt))
    group = Group(tuple(range(len(dims))), merge(points))
    return AcceptedSizes(dims, tuple(names), max_size, [group], [], list(rows), exact=False,
                         probed={"op": op, "sizes": [list(p) for p in per]}, input_shape=tuple(shape))


def _product(xs) -> int:
    t = 1
    for x in xs:
        t *= x
    return t


def spec_rows(spec, input_shape: Sequence[int] | None = None, dims: Sequence[int] | None = None):
    """The spec's rows with symbolic output shapes, up to an op the core cannot model;
    with the axis names and the example's varying sizes (for ``rows.row_formulas``)."""
    from ..spec import Spec, parse_spec

    if not isinstance(spec, Spec):
        spec = parse_spec(spec)
    shape = tuple(input_shape) if input_shape is not None else spec.input
    axes = check_request(shape, dims, DEFAULT_MAX)
    sym = SymFlow(shape, axes)
    try:
        spec_flow(spec, sym)
    except (Unmodelled, ShapeError):
        pass
    return rows_of(sym)


def rows_of(flow: SymFlow) -> tuple[list, tuple[str, ...], tuple[int, ...]]:
    """A flow's rows so far, with the axis names and the example's varying sizes: what
    ``rows.row_formulas`` takes (``spec_rows``, and ``model_rows`` for an nn.Module)."""
    shape, axes = flow.input_shape, flow.dims
    return flow.rows, axis_names(shape, axes), tuple(shape[d] for d in axes)


def analyze_spec(spec, input_shape: Sequence[int] | None = None, dims: Sequence[int] | None = None,
                 max_size: int = DEFAULT_MAX) -> AcceptedSizes:
    """The accepted sizes of a spec (``core.spec.Spec``), torch-free."""
    from ..spec import Spec, flow as concrete_flow, parse_spec

    if not isinstance(spec, Spec):
        spec = parse_spec(spec)
    shape = tuple(input_shape) if input_shape is not None else spec.input
    axes = check_request(shape, dims, max_size)
    names = axis_names(shape, axes)
    sym = SymFlow(shape, axes)
    try:
        spec_flow(spec, sym)
    except Unmodelled as u:
        def accepts(pt):
            s = list(shape)
            for d, x in zip(axes, pt):
                s[d] = x
            rep = concrete_flow(Spec(tuple(s), spec.layers, spec.name, spec.dtype))
            return rep.error is None
        return probe(shape, axes, names, max_size, accepts, str(u), sym.rows)
    except ShapeError as e:
        return never(sym, names, max_size, str(e))
    return from_flow(sym, names, max_size)
