"""Machine formats: JSON (the contract's ``Report.to_dict()``) and CSV (raw numbers).

CSV has one line per row with the shown columns as plain values: integers without
separators, byte counts in bytes, unknown MACs empty, shapes as text in the chosen
layout, several shapes joined by "; ", the receptive field as size/jump/start columns.
"""

from __future__ import annotations

import csv
import io
import json

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


def to_csv(view: View, opts: Options, batch: int | None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header: list[str] = ["depth"] if not view.seed_table else []
    for c in view.columns:
        if c is Column.RF:
            header += ["rf_size", "rf_jump", "rf_start"]
        elif c is Column.MACS and opts.flops:
            header.append("flops")
        else:
            header.append(_CSV_NAMES[c])
    w.writerow(header)
    for r in view.rows:
        line: list[object] = [r.depth] if not view.seed_table else []
        for c in view.columns:
            v = r.values.get(c)
            if c in (Column.INPUT, Column.OUTPUT):
                line.append("; ".join(shape_text(s, opts.layout, batch) for s in v or []))
            elif c is Column.RF:
                line += ["x".join(map(str, v.size)), "x".join(map(str, v.jump)),
                         "x".join(f"{s:g}" for s in v.start)] if v is not None else ["", "", ""]
            elif c is Column.FORMULA:
                line.append(" | ".join(v or []))
            elif c is Column.LAYER:
                line.append(v)
            else:
                line.append("" if v is None else v)
        w.writerow(line)
    return buf.getvalue()
