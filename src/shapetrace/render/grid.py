"""The layer table laid out directly, as rich's ``Table`` lays it out (``box.SIMPLE_HEAD``,
``show_edge=False``, ``pad_edge=False``, padding (0, 1), left-justified title), in a
fraction of the time: rich measures and renders every cell through its generic renderable
machinery (DenseNet-121's 498 rows x 11 columns took 1.1 s to render, three times its
trace), where a single-line cell's width is just its ``cell_len``.

Column widths follow ``rich.table.Table._calculate_column_widths`` (rich 13-15): each
column's natural width plus padding; when the table is wider than the space, rich's own
``_collapse_widths`` narrows the wrappable columns and ``ratio_reduce`` all of them as a
last resort. A cell that fits its column is written here; one that does not (it wraps or
folds) is rendered by rich itself, as the Table would. Content a plain layout could get
wrong (control characters, line breaks, markup in a header) makes ``fast_table`` return
None, and the caller builds the rich Table. tests/render/test_table_speed.py checks the
two agree, character for character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich._ratio import ratio_reduce
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from rich._wrap import divide_line

_UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # rich strips or expands these; line breaks are laid out


@dataclass
class GridColumn:
    header: str
    right: bool  # justify right (numbers, which are never wrapped: no_wrap too); else left
    no_wrap: bool


@dataclass
class GridRow:
    cells: list[str]
    style: str | None = None  # the row's style ("red" for the failing row)
    cell_styles: dict[int, str] | None = None  # column index -> the cell's own style


class FastTable:
    """A rich renderable: the table of ``columns`` and ``rows`` under ``title``."""

    def __init__(self, title: str, columns: list[GridColumn], rows: list[GridRow], fallback):
        self.title, self.columns, self.rows = title, columns, rows
        self.fallback = fallback  # () -> the rich Table of the same content
        n = len(columns)
        # pad_edge=False: no padding left of the first column nor right of the last
        self.pads = [(0 if i == 0 else 1, 0 if i == n - 1 else 1) for i in range(n)]
        self.extra = n - 1  # one separator between columns, no edges
        self.lens = [[cell_width(r.cells[i]) for r in rows] for i in range(n)]
        self.natural = [max([cell_width(c.header)] + self.lens[i]) + sum(self.pads[i])
                        for i, c in enumerate(columns)]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        if not self.fits(options.max_width):
            return Measurement.get(console, options, self.fallback())
        # rich's Table reports its natural width as its maximum (the minimum is not used here)
        widths = self._widths(options.max_width)
        total = sum(widths) + self.extra
        return Measurement(total, total)

    def _widths(self, max_width: int) -> list[int]:
        """``Table._calculate_column_widths`` for this table (no expand, no fixed widths)."""
        space = max_width - self.extra
        widths = [min(w, space) or 1 for w in self.natural]
        if sum(widths) > space:
            widths = Table._collapse_widths(widths, [not c.no_wrap for c in self.columns], space)
            if sum(widths) > space:
                widths = ratio_reduce(sum(widths) - space, [1] * len(widths), widths, widths)
            widths = [min(w, n) for w, n in zip(widths, self.natural)]
        return widths

    def fits(self, max_width: int) -> bool:
        """Wide enough for one character in every column: narrower, rich's Table is left
        to do what it does (it drops the header rule, among others)."""
        return max_width - self.extra >= sum(sum(p) + 1 for p in self.pads)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.fits(options.max_width):
            yield from console.render(self.fallback(), options)
            return
        widths = self._widths(options.max_width)
        table_width = sum(widths) + self.extra
        self._cells: dict[tuple, list[list[Segment]]] = {}
        render_options = options.update(width=table_width, highlight=False, height=None)
        if self.title:
            title = console.render_str(self.title, style=console.get_style("table.title"), highlight=False)
            yield from console.render(title, options=render_options.update(justify="left"))
        yield from self._row([c.header for c in self.columns], widths, console, render_options,
                             console.get_style("table.header"), None, [cell_len(c.header) for c in self.columns],
                             bottom=True)
        yield Segment("─" * table_width)  # SIMPLE_HEAD's rule under the header, edges off
        yield Segment.line()
        for k, r in enumerate(self.rows):
            style = console.get_style(r.style) if r.style else None
            yield from self._row(r.cells, widths, console, render_options, style, r.cell_styles,
                                 [self.lens[i][k] for i in range(len(self.columns))])

    def _plain(self, text: str, i: int, inner: int, n: int) -> list[str] | None:
        """One line of a cell, justified in ``inner`` cells and wrapped or cropped as rich
        would; None where rich has to do it (text wider than its column that is not one
        cell per character)."""
        col = self.columns[i]
        stripped = text.rstrip()  # rich's justify strips each line's end
        if stripped is not text:
            n = cell_len(stripped)
        if n <= inner:
            gap = " " * (inner - n)
            return [(gap + stripped) if col.right else (stripped + gap)]
        if inner <= 0 or not text.isascii():
            return None
        if col.no_wrap:  # Text.wrap(no_wrap=True): justified, cropped to the width
            return [stripped[:inner].rjust(inner) if col.right else text[:inner].ljust(inner)]
        return _wrap(text, inner)  # a left column: a right one never wraps (GridColumn)

    def _rich_cell(self, text: str, i: int, width: int, console: Console, options: ConsoleOptions,
                   style: Style | None, cstyle: Style | None) -> list[list[Segment]]:
        """A cell rendered by rich (remembered for the render: a table squeezed below its
        columns' widths folds many equal cells, such as DenseNet's 1,076 "--")."""
        key = (text, i, width, style, cstyle)
        lines = self._cells.get(key)
        if lines is None:
            lines = self._cells[key] = self._render_cell(text, i, width, console, options, style, cstyle)
        return lines

    def _render_cell(self, text: str, i: int, width: int, console: Console, options: ConsoleOptions,
                     style: Style | None, cstyle: Style | None) -> list[list[Segment]]:
        left, right = self.pads[i]
        col = self.columns[i]
        cell = Padding(Text(text, style=cstyle or ""), (0, right, 0, left))
        return console.render_lines(
            cell, options.update(width=width, justify="right" if col.right else "left", no_wrap=col.no_wrap,
                                 overflow="fold", height=None), style=style or Style())

    def _row(self, cells: list[str], widths: list[int], console: Console, options: ConsoleOptions,
             style: Style | None, cell_styles: dict[int, str] | None, lens: list[int],
             bottom: bool = False) -> RenderResult:
        """One row's lines; a cell shorter than the row sits at the top (the header's at the
        bottom, as rich aligns them)."""
        if style is None and not cell_styles:  # a plain row of one-line cells: one string
            pieces = []
            for i, (text, width) in enumerate(zip(cells, widths)):
                left, right = self.pads[i]
                plain = None if "\n" in text else self._plain(text, i, width - left - right, lens[i])
                if plain is None or len(plain) != 1:
                    break
                pieces.append(" " * left + plain[0] + " " * right)
            else:
                yield Segment(" ".join(pieces))
                yield Segment.line()
                return
        lines: list[list[list[Segment]]] = []
        for i, (text, width) in enumerate(zip(cells, widths)):
            cstyle = console.get_style(cell_styles[i]) if cell_styles and i in cell_styles else None
            seg_style = (style + cstyle) if (style and cstyle) else (cstyle or style)
            left, right = self.pads[i]
            inner = width - left - right
            if "\n" in text:  # each line of the cell as a cell of its own (as Text.wrap does)
                parts = [self._plain(part, i, inner, cell_len(part)) for part in text.split("\n")]
                plain = None if any(p is None for p in parts) else [x for p in parts for x in p]
            else:
                plain = self._plain(text, i, inner, lens[i])
            if plain is None:  # rendered by rich, as the Table renders its cells
                lines.append(self._rich_cell(text, i, width, console, options, style, cstyle))
            else:
                lines.append([[Segment(" " * left + line + " " * right, seg_style)] for line in plain])
        height = max(len(c) for c in lines)
        if style is None and not cell_styles and height == 1:  # a plain row: one segment per line
            yield Segment(" ".join("".join(seg.text for seg in c[0]) if c else " " * w
                                   for c, w in zip(lines, widths)))
            yield Segment.line()
            return
        for k in range(height):
            for i, c in enumerate(lines):
                if i:
                    yield Segment(" ", style)
                at = k - (height - len(c)) if bottom else k
                if 0 <= at < len(c):
                    yield from c[at]
                else:
                    yield Segment(" " * widths[i], style)
            yield Segment.line()


def cell_width(text: str) -> int:
    """The cells the widest line of ``text`` takes."""
    return max(cell_len(line) for line in text.split("\n")) if "\n" in text else cell_len(text)


def _wrap(text: str, width: int) -> list[str]:
    """``Text(text).wrap(console, width, justify="left", overflow="fold")`` for one line of
    ASCII text (one cell per character), each line padded to ``width``."""
    offsets = divide_line(text, width, fold=True)
    out = []
    for a, b in zip([0, *offsets], [*offsets, len(text)]):
        line = text[a:b]
        if len(line) > width:  # Text.rstrip_end: drop trailing whitespace beyond the width
            trailing = len(line) - len(line.rstrip())
            line = line[:len(line) - min(trailing, len(line) - width)]
        out.append(line[:width].ljust(width))  # justify "left": truncate, then pad
    return out


def fast_table(title: str, columns: list[GridColumn], rows: list[GridRow], fallback) -> FastTable | None:
    """The table, or None where only rich's Table is sure to lay it out right (``fallback()``
    builds that Table, for widths too narrow to lay out here)."""
    if not columns or any("[" in c.header or _UNSAFE.search(c.header) for c in columns):
        return None
    for r in rows:
        for text in r.cells:
            if _UNSAFE.search(text):
                return None
    return FastTable(title, columns, rows, fallback)
