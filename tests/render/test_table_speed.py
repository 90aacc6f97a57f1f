"""The terminal table is laid out by ``render.grid`` (fast) exactly as rich's Table lays it
out: the same text, character for character, for real models (torchvision's DenseNet-121
with its 400-character concat inputs, BERT, the seed, a failing model, Korean headers), at
natural width and squeezed down to a few characters, with every option that changes the
cells. No timing here: the speed is in benchmarks/bench_zoo.py and docs/benchmarks.md."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from torch import nn

import shapetrace
from shapetrace import render
from shapetrace.models.seed import CNNWithResidual
from shapetrace.render import text
from shapetrace.render.grid import FastTable

from ..trace.real_zoo import CASES, built

WIDTHS = [None, 200, 160, 100, 60, 40, 25, 12]
OPTIONS = [{}, {"lang": "ko"}, {"layout": "hwc", "explain": True}, {"seed_table": True},
           {"columns": "layer,output,description"}]


class Named(nn.Module):
    """A model whose layer names hold what a plain layout could get wrong."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module("폭넓은_층", nn.Linear(4, 4))  # wide (two-cell) characters
        self.add_module("x[bold]y", nn.Linear(4, 2))  # rich markup in a name

    def forward(self, x):
        return getattr(self, "x[bold]y")(getattr(self, "폭넓은_층")(x))


@functools.lru_cache(maxsize=None)
def report(name: str):
    if name == "seed":
        return shapetrace.summary(CNNWithResidual(), input_size=(1, 1, 28, 28), device="cpu")
    if name == "failing":
        m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(10, 3))
        return shapetrace.summary(m, input_size=(1, 1, 8, 8), device="cpu")
    if name == "named":
        return shapetrace.summary(Named(), input_size=(1, 4), device="cpu")
    return shapetrace.summary(built(name), input_data=CASES[name].input_data(), device="cpu")


def both(r, monkeypatch, **kw) -> tuple[str, str]:
    fast = render.table(r, **kw)
    with monkeypatch.context() as m:
        m.setattr(text, "_fast_table", lambda view, labels: None)  # rich's Table only
        slow = render.table(r, **kw)
    return fast, slow


@pytest.mark.parametrize("name", ["tv_densenet121", "bert", "seed", "failing"])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_the_fast_table_is_richs_table(name: str, opts: dict, monkeypatch) -> None:
    r = report(name)
    assert isinstance(text.renderable(render.view(r, **opts)).renderables[0], FastTable)  # not the fallback
    for width in WIDTHS:
        fast, slow = both(r, monkeypatch, width=width, **opts)
        assert fast == slow, (name, opts, width)


def test_names_with_wide_characters_and_markup(monkeypatch) -> None:
    r = report("named")
    for width in WIDTHS:
        fast, slow = both(r, monkeypatch, width=width)
        assert fast == slow, width
    assert "x[bold]y" in render.table(r)


@settings(max_examples=40, deadline=None)
@given(width=st.integers(min_value=1, max_value=240))
def test_any_width(width: int) -> None:
    r = report("seed")
    with pytest.MonkeyPatch.context() as m:
        fast = render.table(r, width=width)
        m.setattr(text, "_fast_table", lambda view, labels: None)
        assert fast == render.table(r, width=width)


def test_numbers_never_wrap() -> None:
    """grid lays out a wrapped cell left-justified only: every right-justified (numeric)
    column the table builds must be a no-wrap one."""
    from shapetrace.render.options import NUMERIC_COLUMNS

    assert NUMERIC_COLUMNS <= text._NOWRAP


def test_control_characters_fall_back_to_rich() -> None:
    columns = [text.GridColumn("Layer", False, True)]
    assert text.fast_table("t", columns, [text.GridRow(["a\tb"])], lambda: None) is None
    assert text.fast_table("t", columns, [text.GridRow(["a\x1bb"])], lambda: None) is None


def test_a_terminal_still_shows_the_failing_row_in_red() -> None:
    console = Console(width=160, force_terminal=True, color_system="standard", record=True)
    with console.capture() as cap:
        console.print(render.rich_table(report("failing"), width=160))
    assert "\x1b[1;31m" in cap.get() or "\x1b[31;1m" in cap.get()  # bold red: the failing output


@pytest.mark.parametrize("name", ["seed", "named", "failing"])
def test_fit_measures_each_column_once_and_agrees_with_richs_table(name: str, monkeypatch) -> None:
    """``fit`` adds up each column's widest cell instead of measuring the whole table for
    every set of columns it tries: each sum equals rich's own Table's measure, and ``fit``
    keeps the columns that measuring every table would keep."""
    import dataclasses
    import itertools

    from shapetrace.render.text import _DROP_ORDER, _content_widths, _natural, fit, natural_width

    for lang in ("en", "ko"):
        v = render.view(report(name), lang=lang)
        content = _content_widths(v)
        assert content is not None
        droppable = [c for c in _DROP_ORDER if c in v.columns]
        with monkeypatch.context() as m:
            m.setattr(text, "_fast_table", lambda view, labels: None)  # rich's Table measures
            for k in range(len(droppable) + 1):
                for gone in itertools.combinations(droppable, k):
                    cols = tuple(c for c in v.columns if c not in gone)
                    assert _natural(content, cols) == natural_width(dataclasses.replace(v, columns=cols))
            for width in (20, 60, 80, 100, 120, 160, 400):
                slow = v
                for col in _DROP_ORDER:
                    if natural_width(slow) <= width:
                        break
                    if col in slow.columns and len(slow.columns) > 2:
                        slow = dataclasses.replace(slow, columns=tuple(c for c in slow.columns if c is not col))
                m.undo()
                assert fit(v, width).columns == slow.columns, width
                m.setattr(text, "_fast_table", lambda view, labels: None)
