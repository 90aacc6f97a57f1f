"""Markdown: a GitHub table, then totals, warnings and the error as lists.

With ``seed_table`` it is the seed's table and nothing else (plus any warning or error).
"""

from __future__ import annotations

from .options import NUMERIC_COLUMNS
from .view import View


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def to_markdown(view: View) -> str:
    lines: list[str] = []
    if not view.seed_table:
        lines += [f"**{_esc(view.title)}**", ""]
    lines.append("| " + " | ".join(_esc(view.headers[c]) for c in view.columns) + " |")
    lines.append("|" + "|".join("---:" if c in NUMERIC_COLUMNS else "---" for c in view.columns) + "|")
    for r in view.rows:
        lines.append("| " + " | ".join(_esc(r.cells[c]) for c in view.columns) + " |")
    if view.totals and not view.seed_table:
        lines.append("")
        lines += [f"- {label}: {value}" for label, value in view.totals]
    for message, fix in view.warnings:
        lines.append("")
        lines.append(f"> **warning**: {_esc(message)}" + (f"<br>fix: {_esc(fix)}" if fix else ""))
    if view.error:
        lines.append("")
        head_label, head = view.error[0]
        lines.append(f"**{head_label}**: {_esc(head)}")
        lines.append("")
        for label, value in view.error[1:]:
            lines.append(f"- {label}: {_esc(value)}" if label else f"- {_esc(value)}")
    return "\n".join(lines) + "\n"


