"""The worked formula of a layer call as text, in English or Korean.

``render_layer`` turns a ``LayerResult`` (numbers) into lines such as
``H_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28``. The words are in
``core/words.py`` (``Lang`` is defined there and re-exported here).
"""

from __future__ import annotations

from typing import Any

from .layers.base import REGISTRY, fmt_shape
from .records import DimFormula, LayerResult, Note
from .words import Lang, as_lang, note_text, text

__all__ = ["Lang", "as_lang", "call_text", "formula_lines", "symbolic_lines", "note_lines", "render_layer"]


def word(key: str, lang: Lang) -> str:
    return text(f"explain.{key}", lang)


def call_text(layer: str, kwargs: dict[str, Any] | tuple) -> str:
    """``Conv2d(in_channels=1, out_channels=32, kernel_size=3, padding=1)``: the arguments
    that differ from torch's defaults, in constructor order."""
    kw = dict(kwargs)
    defn = REGISTRY.get(layer)
    defaults = dict(defn.signature) if defn else {}
    shown = [f"{k}={v!r}" for k, v in kw.items()
             if k not in defaults or defaults[k] is not kw[k] and defaults[k] != kw[k]]
    return f"{layer}({', '.join(shown)})"


def formula_lines(formulas: list[DimFormula] | tuple[DimFormula, ...]) -> list[str]:
    """``H_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28``; a value that is given, not
    computed (Linear's out_features), reads ``features_out = 512``."""
    return [f"{f.axis}_out = {f.worked}" + ("" if f.worked.strip() == str(f.value) else f" = {f.value}")
            for f in formulas]


def symbolic_lines(formulas: list[DimFormula] | tuple[DimFormula, ...]) -> list[str]:
    return [f"{f.axis}_out = {f.formula}" for f in formulas]


def note_lines(notes: list[Note] | tuple[Note, ...], lang: str | Lang = Lang.EN) -> list[str]:
    lg = as_lang(lang)
    return [note_text(n.key, n.args, lg) for n in notes]


def render_layer(r: LayerResult, lang: str | Lang = Lang.EN) -> str:
    lg = as_lang(lang)
    ins = ", ".join(fmt_shape(s) for s in r.input_shapes)
    lines = [call_text(r.layer, r.kwargs),
             f"  {word('input', lg)}:  {ins}",
             f"  {word('output', lg)}: {fmt_shape(r.output_shape)}"]
    if r.formulas:
        lines.append(f"  {word('formula', lg)}:")
        lines += [f"    {s}" for s in symbolic_lines(r.formulas)]
        lines += [f"    {s}" for s in formula_lines(r.formulas)]
    else:
        lines.append(f"  {word('formula', lg)}: {word('no_formula', lg)}")
    lines.append(f"  {word('params', lg)}: {r.params:,}")
    lines.append(f"  {word('macs', lg)}: {r.macs:,}")
    for n in note_lines(r.notes, lg):
        lines.append(f"  {word('note', lg)}: {n}")
    return "\n".join(lines)
