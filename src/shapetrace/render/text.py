"""The terminal table (laid out by ``grid``, as rich's Table would) with the layer tree, then totals, warnings, the error."""

from __future__ import annotations

import dataclasses
import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from .grid import FastTable, GridColumn, GridRow, fast_table
from .options import NUMERIC_COLUMNS, Column
from .view import View, tree_prefixes

# When the default table is wider than the terminal, these columns go first, in this order
# (their numbers stay in the totals or in other formats).
_DROP_ORDER = (Column.DESCRIPTION, Column.PARAM_BYTES, Column.TRAINABLE, Column.KIND,
               Column.OUTPUT_BYTES, Column.INPUT, Column.RF)
_NOWRAP = {Column.LAYER, Column.INPUT, Column.OUTPUT, Column.PARAMS, Column.TRAINABLE, Column.MACS,
           Column.OUTPUT_BYTES, Column.PARAM_BYTES, Column.RF, Column.KIND}


def renderable(view: View) -> RenderableType:
    """The view as rich renderables (print them on any Console)."""
    prefixes = tree_prefixes(view.rows) if not view.seed_table else [""] * len(view.rows)
    labels = [prefix + (r.label if not view.seed_table else r.cells[Column.LAYER])
              for prefix, r in zip(prefixes, view.rows)]
    table = _fast_table(view, labels) or _rich_table(view, labels)
    parts: list[RenderableType] = [table]
    if view.totals:
        totals = Table.grid(padding=(0, 2))
        totals.add_column()
        totals.add_column(justify="right")
        for label, value in view.totals:
            totals.add_row(label, value)
        parts.append(totals)
    for message, fix in view.warnings:
        t = Text()
        t.append("warning: ", style="bold yellow")
        t.append(message)
        if fix:
            t.append("\n  fix: " + fix)
        parts.append(t)
    if view.error:
        t = Text()
        for i, (label, value) in enumerate(view.error):
            if i:
                t.append("\n")
            if i == 0:
                t.append(f"{label}: ", style="bold red")
                t.append(value)
            else:
                t.append(f"  {label + ': ' if label else ''}{value}")
        parts.append(t)
    return Group(*parts)


def _fast_table(view: View, labels: list[str]) -> FastTable | None:
    """The table laid out by ``grid`` (as rich's Table would lay it out, much faster)."""
    columns = [GridColumn(view.headers[c], c in NUMERIC_COLUMNS, c in _NOWRAP) for c in view.columns]
    out = view.columns.index(Column.OUTPUT) if Column.OUTPUT in view.columns else None
    rows = [GridRow([label if c is Column.LAYER else r.cells[c] for c in view.columns],
                    "red" if r.failed else None, {out: "bold red"} if (r.failed and out is not None) else None)
            for label, r in zip(labels, view.rows)]
    return fast_table(view.title, columns, rows, lambda: _rich_table(view, labels))


def _rich_table(view: View, labels: list[str]) -> Table:
    table = Table(title=view.title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False,
                  pad_edge=False)
    for c in view.columns:
        table.add_column(view.headers[c], justify="right" if c in NUMERIC_COLUMNS else "left",
                         no_wrap=c in _NOWRAP, overflow="fold")
    for label, r in zip(labels, view.rows):
        cells = []
        for c in view.columns:
            if c is Column.LAYER:
                cells.append(Text(label))
            else:
                cells.append(Text(r.cells[c], style="bold red" if (r.failed and c is Column.OUTPUT) else ""))
        table.add_row(*cells, style="red" if r.failed else None)
    return table


def natural_width(view: View, *, totals: bool = False) -> int:
    """The width the table needs without wrapping any cell (and the totals below it, when
    ``totals``)."""
    console = Console(width=100_000, color_system=None, force_terminal=False, legacy_windows=False)
    table = renderable(dataclasses.replace(view, totals=view.totals if totals else [], warnings=[],
                                           error=[]))
    return console.measure(table).maximum


def fit(view: View, width: int, *, droppable: bool = True) -> View:
    """Drop the least needed columns until the table fits ``width`` (only for the default
    column set: columns a user asked for are kept, and wrap)."""
    if not droppable:
        return view
    content = _content_widths(view)
    for col in _DROP_ORDER:
        needed = natural_width(view) if content is None else _natural(content, view.columns)
        if needed <= width:
            break
        if col in view.columns and len(view.columns) > 2:
            view = dataclasses.replace(view, columns=tuple(c for c in view.columns if c is not col))
    return view


def _content_widths(view: View) -> dict[Column, int] | None:
    """Each column's widest cell (its header too), measured once for ``fit``: a column's cells
    are the same whichever others are kept. None where the grid cannot lay the table out
    (rich's Table measures it then)."""
    prefixes = tree_prefixes(view.rows) if not view.seed_table else [""] * len(view.rows)
    labels = [prefix + (r.label if not view.seed_table else r.cells[Column.LAYER])
              for prefix, r in zip(prefixes, view.rows)]
    table = _fast_table(view, labels)
    if table is None:
        return None
    return {c: table.natural[i] - sum(table.pads[i]) for i, c in enumerate(view.columns)}


def _natural(content: dict[Column, int], columns: tuple[Column, ...]) -> int:
    """``natural_width`` of the grid's table of ``columns`` (``grid.FastTable``: one space of
    padding on each inner side of a column and a one-space separator between columns)."""
    n = len(columns)
    return sum(content[c] for c in columns) + 3 * (n - 1)


def to_text(view: View, width: int | None = 160) -> str:
    """Plain text, no colour (deterministic: used for goldens). ``width=None``: as wide as
    the table needs, so that a pipe or file gets every column unwrapped."""
    natural = width is None
    if natural:
        width = max(40, natural_width(view, totals=True))
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False,
                      legacy_windows=False, highlight=False, emoji=False)
    # At the natural width the messages below the table keep their lines whole (a pipe or
    # a file has no width to wrap to).
    console.print(renderable(view), soft_wrap=natural)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
