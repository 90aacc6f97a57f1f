"""The seed's table: the flow grouped into the layers a person names.

The seed writes its model's flow as nine rows (Conv1 + ReLU, MaxPool, Residual Block 1,
..., fc2). This module derives such rows from any flow by one general rule:

1. Units are the top-level rows (the root model's children); plain containers
   (``Sequential``, ``ModuleList``, ``ModuleDict``) are opened, any other block
   (a module with rows under it) is one unit.
2. An activation, normalization or dropout unit that takes the previous group's
   output is merged into that group (``Conv1 + ReLU``).
3. Labels: convolutions ``Conv{k}``, linear layers ``fc{k}``, blocks whose forward
   adds a shortcut ``Residual Block {k}``, flattening ``Flatten``, pooling and the
   rest by the layer's short label (``MaxPool``: the layer rule's ``short``, see
   core/kinds.py), numbered only when a block class repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core import kinds
from ..core.records import Category, Report, Row, Shape, subtree_end
from ..core.words import Lang
from .describe import categorize, describe

_OPEN = frozenset({"Sequential", "ModuleList", "ModuleDict"})
_MERGE = (Category.ACT, Category.NORM, Category.DROPOUT)


@dataclass
class Group:
    label: str
    input_shape: Shape | None
    output_shape: Shape | None
    category: Category
    description: str
    rows: list[int] = field(default_factory=list)  # indices into report.rows


def _units(rows: list[Row]) -> list[tuple[int, int]]:
    """(start, end) index ranges of the top-level units, containers opened."""
    if not rows:
        return []
    start, stop = 0, len(rows)
    if subtree_end(rows, 0) == len(rows) and len(rows) > 1:  # one root row holding all
        start = 1
    out: list[tuple[int, int]] = []

    def walk(lo: int, hi: int) -> None:
        i = lo
        while i < hi:
            end = subtree_end(rows, i)
            if rows[i].kind in _OPEN and end > i + 1:
                walk(i + 1, end)
            else:
                out.append((i, end))
            i = end

    walk(start, stop)
    return out


def group(report: Report, lang: Lang = Lang.EN) -> list[Group]:
    rows = report.rows
    cats = categorize(report)
    groups: list[Group] = []
    counters: dict[str, int] = {}
    block_kinds: dict[str, int] = {}
    units = _units(rows)
    for lo, hi in units:
        if rows[lo].kind not in _OPEN and not rows[lo].leaf and cats[lo] not in (Category.RESIDUAL,):
            block_kinds[rows[lo].kind] = block_kinds.get(rows[lo].kind, 0) + 1
    for lo, hi in units:
        r = rows[lo]
        cat = cats[lo]
        ins = r.input_shapes[0] if r.input_shapes else None
        out = r.output_shapes[0] if r.output_shapes else None
        prev = groups[-1] if groups else None
        if cat in _MERGE and prev is not None and prev.output_shape is not None and ins == prev.output_shape:
            prev.label += " + " + kinds.short(r.kind)
            prev.output_shape = out
            prev.rows += list(range(lo, hi))
            continue
        label = _label(r, cat, counters, block_kinds)
        groups.append(Group(label, ins, out, cat, describe(r, cat, lang), list(range(lo, hi))))
    return groups


def _label(r: Row, cat: Category, counters: dict[str, int], block_kinds: dict[str, int]) -> str:
    def nth(key: str) -> int:
        counters[key] = counters.get(key, 0) + 1
        return counters[key]

    if cat is Category.CONV:
        return f"Conv{nth('conv')}"
    if cat in (Category.LINEAR, Category.CLASSIFY):
        return f"fc{nth('fc')}"
    if cat is Category.RESIDUAL:
        return f"Residual Block {nth('residual')}"
    if cat is Category.FLATTEN:
        return "Flatten"
    name = kinds.short(r.kind)
    if not r.leaf and block_kinds.get(r.kind, 0) > 1:
        return f"{name} {nth('block:' + r.kind)}"
    return name
