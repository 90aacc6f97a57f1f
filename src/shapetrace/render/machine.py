"""Machine formats: JSON (the contract's ``Report.to_dict()``) and CSV (raw numbers).

CSV has one line per row with the shown columns as plain values: integers without
separators, byte counts in bytes, unknown MACs empty, shapes as text in the chosen
layout, several shapes joined by "; ", the receptive field as size/jump/start columns.
"""

from __future__ import annotations

import csv
import io
import json
import re

from ..core.records import Report
from .fmt import shape_text
from .options import Column, Options
from .seed_table import group
from .view import View, batch_of

_CSV_NAMES = {
    Column.LAYER: "name", Column.KIND: "kind", Column.INPUT: "input_shapes", Column.OUTPUT: "output_shapes",
    Column.PARAMS: "params", Column.TRAINABLE: "trainable_params", Column.MACS: "macs",
    Column.OUTPUT_BYTES: "output_bytes", Column.PARAM_BYTES: "param_bytes", Column.DESCRIPTION: "description",
    Column.FORMULA: "formula",
}


def to_json(report: Report, opts: Options) -> str:
    """``Report.to_dict()`` as JSON; with ``seed_table``, the grouped rows instead."""
    if opts.seed_table:
        batch = batch_of(report)
        data = {
            "model": report.model,
            "groups": [{
                "layer": g.label,
                "input": list(g.input_shape) if g.input_shape is not None else None,
                "output": list(g.output_shape) if g.output_shape is not None else None,
                "input_text": shape_text(g.input_shape, opts.layout, batch, seed_style=True),
                "output_text": shape_text(g.output_shape, opts.layout, batch, seed_style=True),
                "category": g.category.value,
                "description": g.description,
                "rows": [report.rows[i].name for i in g.rows],
            } for g in group(report, opts.lang)],
            "warnings": [w.to_dict() for w in report.warnings],
            "error": report.error.to_dict() if report.error else None,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


# A cell that starts with one of these is a formula to Excel, LibreOffice and Google Sheets
# (OWASP, "CSV Injection"): such text cells get a leading apostrophe, which they show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_TEXT = re.compile(r"^[-+]?\d+(\.\d+)?(x[-+]?\d+(\.\d+)?)*$")  # rf_start: -0.5x-0.5


def _safe(v: object) -> object:
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER_TEXT.match(v):
        return "'" + v
    return v


def to_csv(view: View, opts: Options, batch: int | None) -> str:
    """One line per row. Column sums are the totals: a container's own MACs and output bytes
    are blank (its children hold them: its output is its last child's tensor); the sum over
    its leaves is in ``group_macs`` (``group_flops``). A failing flow ends with an error line
    (the ``error`` column: the message, then each fix)."""
    buf = io.StringIO()
    plain = csv.writer(buf, lineterminator="\n")
    # The csv module quotes a field holding a character of its line terminator ("\n") but
    # writes a lone CR bare, which splits the row for every reader: such rows are quoted whole.
    quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def write(line: list[object]) -> None:
        cells = [_safe(x) for x in line]
        (quoted if any(isinstance(x, str) and "\r" in x for x in cells) else plain).writerow(cells)

    header: list[str] = ["depth"] if not view.seed_table else []
    for c in view.columns:
        if c is Column.RF:
            header += ["rf_size", "rf_jump", "rf_start"]
        elif c is Column.MACS:
            header.append("flops" if opts.flops else "macs")
            if not view.seed_table:
                header.append("group_flops" if opts.flops else "group_macs")
        else:
            header.append(_CSV_NAMES[c])
    if view.error:
        header.append("error")
    write(header)
    for r in view.rows:
        line: list[object] = [r.depth] if not view.seed_table else []
        group = not view.seed_table and not r.leaf
        for c in view.columns:
            v = r.values.get(c)
            if c in (Column.INPUT, Column.OUTPUT):
                line.append("; ".join(shape_text(s, opts.layout, batch) for s in v or []))
            elif c is Column.RF:
                line += ["x".join(map(str, v.size)), "x".join(map(str, v.jump)),
                         "x".join(f"{s:g}" for s in v.start)] if v is not None else ["", "", ""]
            elif c is Column.FORMULA:
                line.append(" | ".join(v or []))
            elif c is Column.MACS and not view.seed_table:
                line += ["", "" if v is None else v] if group else ["" if v is None else v, ""]
            elif c is Column.OUTPUT_BYTES and group:
                line.append("")
            else:
                line.append("" if v is None else v)
        if view.error:
            line.append("")
        write(line)
    if view.error:
        write(_error_line(view, header))
    return buf.getvalue()


def _error_line(view: View, header: list[str]) -> list[object]:
    """The diagnosis as the last line, in the error column: "error: ...; layer: fc1 (Linear);
    expected: ...; fix: ...", the lines the other formats print (``View.error``)."""
    line: list[object] = [""] * len(header)
    line[-1] = "; ".join(f"{label}: {text}" if label else text for label, text in view.error)
    return line
