"""MemoryReport -> text: the terminal table, Markdown, JSON (``shapetrace memory``).

The words, in English and Korean, are the one text table's ``memory.*`` entries
(core/words.py); the records hold only numbers and note codes.
"""

from __future__ import annotations

import json as _json

from rich.cells import cell_len

from ..core.explain import Lang, as_lang
from ..core import words
from .fmt import bytes_text, si
from .md import esc

_MARK = {"exact": "", "lower": ">= ", "upper": "<= "}


def _w(key: str, lang: Lang, **kw) -> str:
    return words.text(f"memory.{key}", lang, **kw)


def _flops(n: int) -> str:
    return si(n) if n else "--"


def summary_lines(report, lang: Lang) -> list[tuple[str, str, str]]:
    """(label, value, detail) for the totals."""
    s = report.step
    out = [(_w(k, lang), bytes_text(getattr(s, k), zero="0 B"), f"{getattr(s, k):,} B")
           for k in ("params", "buffers", "grads", "optimizer_state", "saved_activations")]
    out.append((_w("peak", lang), bytes_text(s.peak, zero="0 B"),
                f"{s.peak:,} B, " + _w("peak_when", lang, phase=_w(s.peak_phase, lang))))
    if report.budget is not None:
        how = (words.text(f"memory.search.{report.batch_search}", lang)
               if words.has(f"memory.search.{report.batch_search}") else report.batch_search)
        value = f"{report.max_batch_size:,}" if report.max_batch_size else _w("none_fits", lang)
        out.append((_w("max_batch", lang), value, _w("budget", lang, budget=bytes_text(report.budget),
                                                     how=how, n=report.batch_evaluations)))
    t = s.flops_forward + s.flops_backward
    out.append((_w("flops", lang), _flops(t), _w("flops_line", lang, f=_flops(s.flops_forward),
                                                    b=_flops(s.flops_backward), t=_flops(t))))
    return out


def _rows(report, name: str) -> list[tuple[str, str, str, str, str]]:
    out = []
    for r in report.step.rows:
        label = ("  " * r.depth) + (r.name.rsplit(".", 1)[-1] if r.name else name)
        saved = _MARK[r.bound.value] + bytes_text(r.saved)
        out.append((label, r.kind, saved, _flops(r.flops_forward), _flops(r.flops_backward)))
    return out


def _notes(report, lang: Lang) -> list[str]:
    codes = list(report.notes)
    for r in report.step.rows:
        if r.note and r.note not in codes:
            codes.append(r.note)
    return [words.text(f"memory.bound.{c}", lang) for c in codes if words.has(f"memory.bound.{c}")]


def _pad(text: str, width: int, right: bool = False) -> str:
    """Padded to ``width`` terminal cells (a Korean syllable takes two)."""
    gap = " " * max(0, width - cell_len(text))
    return gap + text if right else text + gap


def _title(report, name: str, lang: Lang) -> str:
    return _w("title", lang, name=name, batch=report.step.batch_size, optimizer=report.optimizer,
              dtype=report.dtype, amp=_w("amp", lang) if report.amp else "", device=report.device)


def _header(lang: Lang) -> tuple[str, ...]:
    return tuple(_w(k, lang) for k in ("layer", "kind", "saved", "flops_fwd", "flops_bwd"))


def text(report, name: str, lang: str | Lang = "en") -> str:
    lang = as_lang(lang)
    lines = [_title(report, name, lang), ""]
    tops = summary_lines(report, lang)
    lw = max(cell_len(a) for a, _, _ in tops)
    vw = max(cell_len(b) for _, b, _ in tops)
    lines += [f"  {_pad(a, lw)}  {_pad(b, vw, True)}  ({c})" for a, b, c in tops]
    rows = [_header(lang)] + _rows(report, name)
    widths = [max(cell_len(r[i]) for r in rows) for i in range(5)]
    lines.append("")
    for j, r in enumerate(rows):
        cells = [_pad(r[0], widths[0]), _pad(r[1], widths[1])] + [_pad(r[i], widths[i], True) for i in (2, 3, 4)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = _notes(report, lang)
    if notes:
        lines.append("")
        lines += [f"note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def markdown(report, name: str, lang: str | Lang = "en") -> str:
    lang = as_lang(lang)
    lines = [f"### {esc(_title(report, name, lang))}", "", "| | | |", "|---|---:|---|"]
    lines += [f"| {esc(a)} | {esc(b)} | {esc(c)} |" for a, b, c in summary_lines(report, lang)]
    lines += ["", "| " + " | ".join(_header(lang)) + " |", "|---|---|---:|---:|---:|"]
    for r in _rows(report, name):
        label = r[0].lstrip(" ")
        indent = "&nbsp;" * (len(r[0]) - len(label))
        lines.append(f"| {indent}`{esc(label)}` | {esc(r[1])} | {esc(r[2])} | {r[3]} | {r[4]} |")
    notes = _notes(report, lang)
    if notes:
        lines.append("")
        lines += [f"- {esc(n)}" for n in notes]
    return "\n".join(lines) + "\n"


def json(report) -> str:
    return _json.dumps(report.to_dict(), indent=2) + "\n"
