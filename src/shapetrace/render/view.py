"""Report -> View: the table every format draws, as cells (text) and values (numbers).

Renderers (text, markdown, csv, html) only lay a View out; what a cell says is
decided once, here, with the words of core/words.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.explain import formula_lines, note_lines
from ..core.records import Category, Report, Row
from ..core.words import Lang, has, text
from .describe import categorize, describe
from .fmt import bytes_text, int_text, rf_text, shape_text, shapes_text, si
from .options import Column, Options
from .seed_table import group


def word(key: str, lang: Lang) -> str:
    """The view's words: ``view.<key>`` in core/words.py."""
    return text(f"view.{key}", lang)


def header(c: Column, lang: Lang) -> str:
    return text(f"column.{c.value}", lang)


@dataclass
class ViewRow:
    depth: int
    label: str  # short: the attribute name, the op, or the model's class for the root
    cells: dict[Column, str]
    values: dict[Column, Any]  # raw numbers and shapes for machine formats
    failed: bool = False
    is_op: bool = False
    leaf: bool = True  # False: a container; its MACs cell is the sum over the leaves under it


@dataclass
class View:
    title: str
    columns: tuple[Column, ...]
    headers: dict[Column, str]
    rows: list[ViewRow]
    totals: list[tuple[str, str]] = field(default_factory=list)
    totals_values: dict[str, Any] = field(default_factory=dict)
    warnings: list[tuple[str, str | None]] = field(default_factory=list)  # (message, fix)
    error: list[tuple[str, str]] = field(default_factory=list)  # (label, text) lines
    seed_table: bool = False


def batch_of(report: Report) -> int | None:
    if report.input_shapes and len(report.input_shapes[0]) >= 2:
        return report.input_shapes[0][0]
    return None


def build(report: Report, opts: Options) -> View:
    cols = opts.shown_columns()
    lang = opts.lang
    batch = batch_of(report)
    if opts.seed_table:
        headers = {c: text(f"seed_column.{c.value}", lang) if has(f"seed_column.{c.value}") else header(c, lang)
                   for c in cols}
        rows = _seed_rows(report, opts, cols, batch)
    else:
        headers = {c: header(c, lang) for c in cols}
        if opts.flops and Column.MACS in headers:
            headers[Column.MACS] = "FLOPs"
        rows = _flow_rows(report, opts, cols, batch)
    view = View(title=_title(report, opts, batch), columns=cols, headers=headers, rows=rows,
                seed_table=opts.seed_table)
    _totals(view, report, opts)
    view.warnings = [(w.message, w.fix) for w in report.warnings]
    _error(view, report, opts)
    return view


def _title(report: Report, opts: Options, batch: int | None) -> str:
    ins = ", ".join(shape_text(s) for s in report.input_shapes)
    dev = f", {word('device', opts.lang)} {report.device}" if report.device != "none" else ""
    return f"{report.model} ({word('input_word', opts.lang)} {ins}{dev})"


def subtree_macs(rows: list[Row]) -> list[int | None]:
    """A leaf's own MACs; for a row with children, the sum over the leaves under it (None
    when one of them is unknown). Rows of a flow keep MACs on leaves only."""
    out: list[int | None] = []
    n = len(rows)
    for i, r in enumerate(rows):
        if r.leaf:
            out.append(r.macs)
            continue
        total: int | None = 0
        j = i + 1
        while j < n and rows[j].depth > r.depth:
            if rows[j].leaf:
                total = None if (total is None or rows[j].macs is None) else total + rows[j].macs
            j += 1
        out.append(total)
    return out


def _flow_rows(report: Report, opts: Options, cols, batch) -> list[ViewRow]:
    cats = categorize(report)
    macs = subtree_macs(report.rows)
    out = []
    failing = report.error.row if report.error else None
    n = len(report.rows)
    for i, r in enumerate(report.rows):
        failed = failing is not None and i == n - 1 and r.name == failing and not r.output_shapes
        label = report.model if (r.depth == 0 and r.name == "") else (
            r.kind if r.is_op else r.name.rpartition(".")[2] or r.name)
        values = _values(r, opts, cats[i], macs[i])
        values[Column.LAYER] = r.name or report.model
        cells = {c: _cell(c, values, opts, batch, failed) for c in cols}
        out.append(ViewRow(depth=r.depth, label=label, cells=cells, values=values, failed=failed,
                           is_op=r.is_op, leaf=r.leaf))
    return out


def _values(r: Row, opts: Options, cat: Category, macs: int | None) -> dict[Column, Any]:
    macs = macs * 2 if (opts.flops and macs is not None) else macs
    return {
        Column.KIND: r.kind,
        Column.INPUT: [tuple(s) for s in r.input_shapes],
        Column.OUTPUT: [tuple(s) for s in r.output_shapes],
        Column.PARAMS: r.params,
        Column.TRAINABLE: r.trainable_params,
        Column.MACS: macs,
        Column.OUTPUT_BYTES: r.output_bytes,
        Column.PARAM_BYTES: r.param_bytes,
        Column.RF: r.receptive_field,
        Column.DESCRIPTION: describe(r, cat, opts.lang),
        Column.FORMULA: formula_and_notes(r, opts.lang),
    }


def formula_and_notes(r: Row, lang: Lang) -> list[str]:
    return formula_lines(r.formulas) + note_lines(r.notes, lang)


def _cell(c: Column, v: dict[Column, Any], opts: Options, batch, failed: bool) -> str:
    seed = opts.seed_table
    if c is Column.LAYER:
        return str(v[Column.LAYER])
    if c is Column.KIND:
        return str(v.get(Column.KIND, ""))
    if c is Column.INPUT:
        return shapes_text(v[Column.INPUT], opts.layout, batch, seed_style=seed) if v[Column.INPUT] else "--"
    if c is Column.OUTPUT:
        if failed:
            return word("failed", opts.lang)
        return shapes_text(v[Column.OUTPUT], opts.layout, batch, seed_style=seed) if v[Column.OUTPUT] else "--"
    if c in (Column.PARAMS, Column.TRAINABLE, Column.MACS):
        return int_text(v.get(c))
    if c in (Column.OUTPUT_BYTES, Column.PARAM_BYTES):
        return bytes_text(v.get(c))
    if c is Column.RF:
        return rf_text(v.get(c))
    if c is Column.DESCRIPTION:
        return str(v.get(c) or "")
    if c is Column.FORMULA:
        return "\n".join(v.get(c) or [])
    return ""


def _seed_rows(report: Report, opts: Options, cols, batch) -> list[ViewRow]:
    out = []
    rows = report.rows
    failing = report.error.row if report.error else None
    for g in group(report, opts.lang):
        covered = [rows[i] for i in g.rows]
        leaves = [r for r in covered if r.leaf]
        macs: int | None = 0
        for r in leaves:
            macs = None if (macs is None or r.macs is None) else macs + r.macs
        if opts.flops and macs is not None:
            macs *= 2
        failed = failing is not None and g.rows[-1] == len(rows) - 1 and not rows[-1].output_shapes
        values: dict[Column, Any] = {
            Column.LAYER: g.label,
            Column.KIND: ", ".join(dict.fromkeys(r.kind for r in covered)),
            Column.INPUT: [g.input_shape] if g.input_shape is not None else [],
            Column.OUTPUT: [g.output_shape] if g.output_shape is not None else [],
            Column.PARAMS: sum(r.params for r in covered),
            Column.TRAINABLE: sum(r.trainable_params for r in covered),
            Column.MACS: macs,
            Column.OUTPUT_BYTES: covered[-1].output_bytes if covered else 0,
            Column.PARAM_BYTES: sum(r.param_bytes for r in covered),
            Column.RF: next((r.receptive_field for r in reversed(covered) if r.output_shapes), None),
            Column.DESCRIPTION: g.description,
            Column.FORMULA: [],
        }
        cells = {c: _cell(c, values, opts, batch, failed) for c in cols}
        out.append(ViewRow(depth=0, label=g.label, cells=cells, values=values, failed=failed))
    return out


def _totals(view: View, report: Report, opts: Options) -> None:
    t = report.totals
    lang = opts.lang
    unknown = sum(1 for r in report.rows if r.leaf and r.macs is None)
    macs = t.macs * 2 if opts.flops else t.macs
    cost = f"{macs:,} ({si(macs)})" if macs else "0"
    if t.macs_partial:
        cost += " " + word("partial", lang).format(n=unknown)
    total_mem = t.input_bytes + t.activation_bytes + t.param_bytes
    view.totals = [
        (word("total_params", lang), f"{t.params:,}"),
        (word("trainable", lang), f"{t.trainable_params:,}"),
        (word("frozen", lang), f"{t.params - t.trainable_params:,}"),
        (word("flops" if opts.flops else "macs", lang), cost),
        (word("input", lang), bytes_text(t.input_bytes, zero="0 B")),
        (word("activations", lang), bytes_text(t.activation_bytes, zero="0 B")),
        (word("param_mem", lang), bytes_text(t.param_bytes, zero="0 B")),
        (word("total_mem", lang), bytes_text(total_mem, zero="0 B")),
    ]
    view.totals_values = dict(t.to_dict())
    if opts.flops:
        view.totals_values["flops"] = t.macs * 2



def _layer_name(d) -> str:
    """The failing layer as the table names it: the model itself (row '') by its class."""
    name = d.row or d.kind
    return name if name == d.kind else f"{name} ({d.kind})"


def _error(view: View, report: Report, opts: Options) -> None:
    d = report.error
    if d is None:
        return
    lang = opts.lang
    lines = [(word("error", lang), d.message), (word("layer", lang), _layer_name(d))]
    if d.expected is not None:
        lines.append((word("expected", lang), shape_text(d.expected)))
    if d.actual is not None:
        lines.append((word("actual", lang), shape_text(d.actual)))
    for a in d.arithmetic:
        lines.append(("", a))
    for f in d.fixes:
        lines.append((word("fix", lang), f))
    view.error = lines


def tree_prefixes(rows: list[ViewRow]) -> list[str]:
    """Box-drawing prefixes for rows in pre-order: '├─ ', '│  └─ ' ..."""
    n = len(rows)
    base = min((r.depth for r in rows), default=0)
    depth = [r.depth - base for r in rows]
    has_next = [False] * n  # a later sibling follows (before the parent's subtree ends)
    seen: dict[int, bool] = {}
    for i in range(n - 1, -1, -1):
        d = depth[i]
        has_next[i] = seen.get(d, False)
        seen[d] = True
        for k in [k for k in seen if k > d]:
            seen[k] = False
    out: list[str] = []
    stack: list[bool] = []
    for i in range(n):
        d = depth[i]
        stack = stack[:d]
        if d == 0:
            out.append("")
        else:
            bars = "".join("│  " if more else "   " for more in stack[1:d])
            out.append(bars + ("├─ " if has_next[i] else "└─ "))
        stack.append(has_next[i])
    return out
