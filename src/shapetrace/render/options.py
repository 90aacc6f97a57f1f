"""The renderers' options as enums (user strings become enums here, at the edge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

from ..core.errors import ShapetraceError
from ..core.explain import Lang, as_lang


class Layout(str, Enum):
    """How shapes print. ``nchw``: as torch has them, batch included. ``hwc``: without the
    batch dimension, channels last, as the seed's table writes them: (28, 28, 1)."""

    NCHW = "nchw"
    HWC = "hwc"


class Format(str, Enum):
    TABLE = "table"  # rich tree table for the terminal
    MARKDOWN = "markdown"
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    SVG = "svg"  # the model's graph


class Column(str, Enum):
    LAYER = "layer"
    KIND = "kind"
    INPUT = "input"
    OUTPUT = "output"
    PARAMS = "params"
    TRAINABLE = "trainable"
    MACS = "macs"
    OUTPUT_BYTES = "output_bytes"
    PARAM_BYTES = "param_bytes"
    RF = "rf"
    DESCRIPTION = "description"
    FORMULA = "formula"
    SYMBOLIC = "symbolic"  # the output as a formula of the varying input sizes (summary --symbolic)


# Columns of numbers: right-aligned in every table format.
NUMERIC_COLUMNS = frozenset({Column.PARAMS, Column.TRAINABLE, Column.MACS, Column.OUTPUT_BYTES, Column.PARAM_BYTES})


DEFAULT_COLUMNS: tuple[Column, ...] = (
    Column.LAYER, Column.KIND, Column.INPUT, Column.OUTPUT, Column.PARAMS, Column.TRAINABLE,
    Column.MACS, Column.OUTPUT_BYTES, Column.PARAM_BYTES, Column.RF, Column.DESCRIPTION)

SEED_COLUMNS: tuple[Column, ...] = (Column.LAYER, Column.INPUT, Column.OUTPUT, Column.DESCRIPTION)


def _enum(cls, value, what: str):
    if isinstance(value, cls):
        return value
    try:
        return cls(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise ShapetraceError(f"{what} must be one of {choices}; got {value!r}") from None


def as_layout(value: str | Layout) -> Layout:
    return _enum(Layout, value, "layout")


def as_format(value: str | Format) -> Format:
    return _enum(Format, value, "format")


def as_columns(value: str | Iterable[str | Column] | None) -> tuple[Column, ...] | None:
    """'layer,input,output' or a list -> columns; None keeps the default."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    cols = tuple(_enum(Column, v, "columns entry") for v in items if str(v).strip())
    if not cols:
        raise ShapetraceError("columns is empty; name at least one, e.g. layer,input,output")
    return cols


@dataclass(frozen=True)
class Options:
    """Everything a renderer needs besides the report."""

    layout: Layout = Layout.NCHW
    lang: Lang = Lang.EN
    explain: bool = False  # add the worked formula column
    flops: bool = False  # FLOPs (= 2 x MACs) instead of MACs
    seed_table: bool = False  # the seed's grouped four-column table
    columns: tuple[Column, ...] | None = field(default=None)  # None: the default set

    @classmethod
    def make(cls, *, layout: str | Layout = Layout.NCHW, lang: str | Lang = Lang.EN, explain: bool = False,
             flops: bool = False, seed_table: bool = False,
             columns: str | Iterable[str | Column] | None = None) -> "Options":
        return cls(as_layout(layout), as_lang(lang), bool(explain), bool(flops), bool(seed_table),
                   as_columns(columns))

    def shown_columns(self) -> tuple[Column, ...]:
        if self.seed_table:
            return self.columns or SEED_COLUMNS
        cols = self.columns or DEFAULT_COLUMNS
        if self.explain and Column.FORMULA not in cols:
            cols = cols + (Column.FORMULA,)
        return cols
