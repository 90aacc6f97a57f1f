"""Report -> text. Every function takes a ``Report`` (a traced model's or a spec's flow, the
same records) and returns a string; none imports torch.

    from shapetrace import render
    render.table(report)                                  # terminal table, plain text
    render.markdown(report, layout="hwc", lang="ko", seed_table=True)   # the seed's table
    render.csv(report); render.json(report); render.html(report)
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

__all__ = ["render", "table", "rich_table", "markdown", "csv", "json", "html", "repr_html", "view",
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


def repr_html(report: Report) -> str:
    """What a notebook shows for a Report (``Report._repr_html_`` can return this)."""
    return html(report)


def render(report: Report, fmt: str | Format = Format.TABLE, **options: Any) -> str:
    """Any format by name: table, markdown, json, csv, html."""
    f = as_format(fmt)
    return {Format.TABLE: table, Format.MARKDOWN: markdown, Format.JSON: json, Format.CSV: csv,
            Format.HTML: html}[f](report, **options)
