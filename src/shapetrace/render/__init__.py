"""Report -> text. Every function takes a ``Report`` (a traced model's or a spec's flow, the
same records) and returns a string; none imports torch.

    from shapetrace import render
    render.table(report)                                  # terminal table, plain text
    render.markdown(report, layout="hwc", lang="ko", seed_table=True)   # the seed's table
    render.csv(report); render.json(report); render.html(report)
    render.svg(report, depth=2)                          # the model's graph as SVG
    render.render(report, "markdown", explain=True)      # by format name

Options (keyword-only, the same for every format):
  layout      "nchw" (default: shapes as torch has them) or "hwc" (no batch, channels last)
  lang        "en" (default) or "ko" (headers and descriptions in Korean)
  explain     add the worked-formula column
  flops       FLOPs (= 2 x MACs) instead of MACs
  seed_table  the seed's grouped table (Layer, Input size, Output size, Description)
  columns     a subset/order of columns: "layer,input,output,params" or a list of Column
"""

from __future__ import annotations

from typing import Any

from ..core.records import Report
from .options import DEFAULT_COLUMNS, SEED_COLUMNS, Column, Format, Layout, Options, as_format
from .view import View, batch_of, build

__all__ = ["render", "table", "rich_table", "markdown", "csv", "json", "html", "svg", "repr_html", "view",
           "Options", "Layout", "Format", "Column", "DEFAULT_COLUMNS", "SEED_COLUMNS"]


def view(report: Report, **options: Any) -> View:
    """The format-neutral table (cells and raw values) the renderers lay out."""
    return build(report, Options.make(**options))


def table(report: Report, *, width: int | None = 160, **options: Any) -> str:
    """The terminal table as plain text (no colour) at a fixed width; ``width=None``: as wide
    as the table needs."""
    from .text import to_text

    return to_text(view(report, **options), width=width)


def rich_table(report: Report, *, width: int | None = None, **options: Any):
    """The terminal table as rich renderables, for ``rich.console.Console.print``. With a
    ``width``, the default columns are thinned until the table fits it."""
    from .text import fit, renderable

    v = view(report, **options)
    if width is not None:
        v = fit(v, width, droppable=options.get("columns") is None)
    return renderable(v)


def markdown(report: Report, **options: Any) -> str:
    from .md import to_markdown

    return to_markdown(view(report, **options))


def csv(report: Report, **options: Any) -> str:
    from .machine import to_csv

    opts = Options.make(**options)
    return to_csv(build(report, opts), opts, batch_of(report))


def json(report: Report, **options: Any) -> str:
    """``Report.to_dict()`` as JSON (layout/lang do not apply); ``seed_table=True`` gives the
    grouped rows instead."""
    from .machine import to_json

    return to_json(report, Options.make(**options))


def html(report: Report, *, full_page: bool = False, **options: Any) -> str:
    from .htmlfmt import to_html

    return to_html(view(report, **options), full_page=full_page)


def svg(report: Report, *, depth: int | None = None, collapse: bool = True, **options: Any) -> str:
    """The model's graph as an SVG document: a node per leaf row (name, kind, output shape),
    edges with their shapes, modules as nested groups. ``depth`` folds deeper modules into
    one node (as ``--depth`` folds the table); ``collapse`` draws a run of identical blocks
    once, marked ``×N``. The failing layer is red, what never ran grey."""
    from .graph import build_graph
    from .graph_svg import svg as draw

    opts = Options.make(**options)
    if depth is not None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            from ..core.errors import ShapetraceError

            raise ShapetraceError(f"depth must be a whole number >= 0 (or None: no folding); got {depth!r}")
        from ..trace.fold import fold

        report = fold(report, depth)
    return draw(build_graph(report, collapse=collapse), layout=opts.layout, lang=opts.lang)


def repr_html(report: Report) -> str:
    """What a notebook shows for a Report (``Report._repr_html_`` can return this): the table
    and, beside it, the graph (folded to two levels when the model is large)."""
    table_html = html(report)
    if not report.rows:
        return table_html
    depth = None if len(report.rows) <= 60 else 2
    picture = svg(report, depth=depth)
    return ('<div style="display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap">'
            f'<div style="overflow-x:auto;max-width:100%">{table_html}</div>'
            f'<div style="overflow:auto;max-width:100%">{picture}</div></div>')


def render(report: Report, fmt: str | Format = Format.TABLE, **options: Any) -> str:
    """Any format by name: table, markdown, json, csv, html."""
    f = as_format(fmt)
    return {Format.TABLE: table, Format.MARKDOWN: markdown, Format.JSON: json, Format.CSV: csv,
            Format.HTML: html, Format.SVG: _svg_options}[f](report, **options)


def _svg_options(report: Report, **options: Any) -> str:
    """The graph takes the layout and language; the table-only options do not apply."""
    keep = {k: v for k, v in options.items() if k in ("layout", "lang", "depth", "collapse")}
    return svg(report, **keep)
