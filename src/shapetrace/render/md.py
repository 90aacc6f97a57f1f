"""Markdown: a GitHub table, then totals, warnings and the error as lists.

With ``seed_table`` it is the seed's table and nothing else (plus any warning or error).
"""

from __future__ import annotations

from .options import NUMERIC_COLUMNS, Column
from .view import View, ViewRow


def esc(text: str) -> str:
    """Cell text as Markdown shows it: HTML in names stays text (GitHub renders inline HTML),
    a "|" does not split the cell, a newline is a <br>. Escaping "&" and "<" is enough to open
    no tag or entity; ">" stays as typed ("2D -> 1D", as the seed's table writes it)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("|", "\\|").replace("\n", "<br>")


def _cell(r: ViewRow, c: Column) -> str:
    """A container's MACs are its leaves' sum: marked as such ("Σ 23,299,584"), so that the
    column is not read as adding up to twice the total."""
    text = r.cells[c]
    if c is Column.MACS and not r.leaf and r.values.get(c):
        return "Σ " + text
    return text


def to_markdown(view: View) -> str:
    lines: list[str] = []
    if not view.seed_table:
        lines += [f"**{esc(view.title)}**", ""]
    lines.append("| " + " | ".join(esc(view.headers[c]) for c in view.columns) + " |")
    lines.append("|" + "|".join("---:" if c in NUMERIC_COLUMNS else "---" for c in view.columns) + "|")
    for r in view.rows:
        lines.append("| " + " | ".join(esc(_cell(r, c)) for c in view.columns) + " |")
    if view.totals and not view.seed_table:
        lines.append("")
        lines += [f"- {label}: {value}" for label, value in view.totals]
    for message, fix in view.warnings:
        lines.append("")
        lines.append(f"> **warning**: {esc(message)}" + (f"<br>fix: {esc(fix)}" if fix else ""))
    if view.error:
        lines.append("")
        head_label, head = view.error[0]
        lines.append(f"**{head_label}**: {esc(head)}")
        lines.append("")
        for label, value in view.error[1:]:
            lines.append(f"- {label}: {esc(value)}" if label else f"- {esc(value)}")
    return "\n".join(lines) + "\n"


