"""Each row of a report (the tracer's or a spec's flow) with its output shape as a formula
of the varying input sizes (``summary --symbolic``, the web page's toggle).

The symbolic rows (core/symbolic/flow.py, trace/symbolic_probe.py) are named as the
report's rows are, except that a module called more than once carries its call number;
the k-th report row of a name takes the k-th symbolic row of that name. A row with
children (a container, the model itself) takes the row of its last child that has one.
Every formula is checked against the report at the example input: it must give the
row's concrete output shape there, or the row gets none (never a formula that is wrong
at the one size we know).
"""

from __future__ import annotations

import re
from typing import Sequence

from .flow import SymRow

_CALL = re.compile(r" \(\d+(st|nd|rd|th) call\)$")


def row_formulas(report, rows: Sequence[SymRow], names: Sequence[str], point: Sequence[int]) -> list[str | None]:
    """Per report row, its output as a formula, e.g. ``(1, 128, ⌊H/8⌋, ⌊W/8⌋)``, or None."""
    return [None if p is None else "(" + ", ".join(p) + ")" for p in row_outputs(report, rows, names, point)]


def row_outputs(report, rows: Sequence[SymRow], names: Sequence[str],
                point: Sequence[int]) -> list[list[str] | None]:
    """Per report row, its output's dimensions as formulas (``["1", "128", "⌊H/8⌋", ...]``)."""
    by_name: dict[str, list[SymRow]] = {}
    for r in rows:
        by_name.setdefault(_CALL.sub("", r.name), []).append(r)
    used: dict[str, int] = {}
    found: list[SymRow | None] = []
    for r in report.rows:
        k = used.get(r.name, 0)
        used[r.name] = k + 1
        cands = by_name.get(r.name, [])
        found.append(cands[k] if k < len(cands) and r.leaf else None)
    rep = report.rows
    out: list[str | None] = []
    for i, r in enumerate(rep):
        sym = found[i]
        if sym is None and not r.leaf:  # the last child that has a symbolic row
            j = i + 1
            while j < len(rep) and rep[j].depth > r.depth:
                if found[j] is not None:
                    sym = found[j]
                j += 1
        if sym is None and not found[i]:  # a folded container (--depth): its last row inside
            inside = [x for x in rows if x.name.startswith(r.name + ".") or not r.name]
            sym = inside[-1] if inside else None
        out.append(_checked(sym, r, names, point))
    return out


def _checked(sym: SymRow | None, row, names, point) -> list[str] | None:
    if sym is None or not row.output_shapes:
        return None
    try:
        at = tuple(d.eval(point) for d in sym.output)
    except (KeyError, IndexError, ZeroDivisionError):
        return None
    if at != tuple(row.output_shapes[0]):
        return None
    return [d.text(names) for d in sym.output]
