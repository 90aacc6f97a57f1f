"""What a row does, in a few words, in English or Korean (the seed's words where it has them:
특징 추출, 차원 축소, 단축 경로, 펼치기, 특징 결합, 라벨 분류).

A row's ``kind`` is a torch.nn class name (module rows) or a torch function name (op
rows); ``core.kinds.category`` says what it does (a layer rule carries its own
category); its words are ``category.<value>`` in ``core/words.py``. Kinds without one
get no description rather than a guess.
"""

from __future__ import annotations

import math

from ..core import kinds
from ..core.records import Category, Report, Row
from ..core.words import Lang, text
from .residual import residual_adds


def categorize(report: Report) -> list[Category]:
    """One category per row of ``report``. An add is a shortcut add only when the data
    flow says so (``residual.residual_adds``); a block is a Residual Block when one of its
    own rows is one."""
    rows = report.rows
    shortcuts = residual_adds(report, kinds.ADD_KINDS)
    residual_blocks = {_parent_index(rows, j) for j in shortcuts}
    cats: list[Category] = []
    for i, r in enumerate(rows):
        cat = kinds.category(r.kind)
        if cat is Category.ADD and i in shortcuts:
            cat = Category.SHORTCUT  # any other add (x + 1, x + mask, a + b) is a plain add
        if cat in (Category.RESHAPE, Category.FLATTEN) and r.kind != "Flatten":
            cat = Category.FLATTEN if _flattens(r) else Category.RESHAPE
        if cat is None or cat is Category.BLOCK:
            if not r.leaf and i in residual_blocks:
                cat = Category.RESIDUAL
            elif cat is None:
                cat = Category.BLOCK if not r.leaf else Category.OTHER
        cats.append(cat)
    last = _classifier_index(rows, cats)
    if last is not None:
        cats[last] = Category.CLASSIFY
    return cats


def _parent_index(rows: list[Row], j: int) -> int:
    for i in range(j - 1, -1, -1):
        if rows[i].depth < rows[j].depth:
            return i
    return -1


def _flattens(r: Row) -> bool:
    """(N, C, H, W) -> (N, C*H*W): the output is 2D and the input had more dims."""
    if not r.input_shapes or not r.output_shapes:
        return False
    i, o = r.input_shapes[0], r.output_shapes[0]
    return len(o) == 2 and len(i) > 2 and math.prod(i) == math.prod(o)


_TAIL = (Category.ACT, Category.SOFTMAX, Category.DROPOUT)


def _classifier_index(rows: list[Row], cats: list[Category]) -> int | None:
    """The final Linear of the flow (only activations/softmax/dropout after it), if it has
    at least two outputs: the layer that scores the labels."""
    for i in range(len(rows) - 1, -1, -1):
        if not rows[i].leaf:
            continue
        if cats[i] is Category.LINEAR:
            out = rows[i].output_shapes[0] if rows[i].output_shapes else ()
            return i if out and out[-1] >= 2 else None
        if cats[i] not in _TAIL:
            return None
    return None


__all__ = ["Category", "categorize", "describe"]


def describe(row: Row, cat: Category, lang: Lang) -> str:
    key = f"category.{cat.value}"
    if cat is Category.FLATTEN:
        i = row.input_shapes[0] if row.input_shapes else ()
        return text(key, lang, n=max(len(i) - 2, 1))
    if cat is Category.CLASSIFY:
        out = row.output_shapes[0] if row.output_shapes else (1,)
        return text(key, lang, last=out[-1] - 1)
    return text(key, lang)
