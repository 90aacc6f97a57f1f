"""The terminal table fits the terminal by dropping the least needed default columns."""

from __future__ import annotations

from pathlib import Path

from shapetrace import render
from shapetrace.core.spec import flow, load_spec
from shapetrace.render.options import Column
from shapetrace.render.text import fit, natural_width

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed.yaml"


def test_narrow_terminals_drop_columns_in_order_and_keep_names_whole():
    report = flow(load_spec(SEED))
    v = render.view(report)
    full = natural_width(v)
    narrow = fit(v, 100)
    assert natural_width(narrow) <= 100 < full
    assert Column.DESCRIPTION not in narrow.columns and Column.OUTPUT in narrow.columns
    assert Column.LAYER in narrow.columns and Column.PARAMS in narrow.columns
    # columns the user named are never dropped
    assert fit(v, 100, droppable=False).columns == v.columns


def test_pipes_get_the_natural_width_without_wrapping():
    report = flow(load_spec(SEED))
    text = render.table(report, width=None)
    assert "├─ conv1      Conv2d" in text  # tree prefix and name on one line
    adds = [line for line in text.splitlines() if "├─ add" in line]
    assert len(adds) == 2
    assert "(1, 64, 14, 14), (1, 64, 14, 14)   (1, 64, 14, 14)" in adds[0]
    assert "(1, 128, 7, 7), (1, 128, 7, 7)" in adds[1]
