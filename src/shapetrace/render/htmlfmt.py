"""HTML: a self-contained table (inline style, every string escaped), for pages and notebooks."""

from __future__ import annotations

from html import escape

from .options import NUMERIC_COLUMNS, Column
from .view import View


_STYLE = (
    ".shapetrace{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}"
    ".shapetrace table{border-collapse:collapse}"
    ".shapetrace th,.shapetrace td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top;white-space:pre}"
    ".shapetrace td.num,.shapetrace th.num{text-align:right}"
    ".shapetrace tr.op td.layer{color:#555}"
    ".shapetrace tr.failed td{background:#fde8e8}"
    ".shapetrace .warning{color:#8a5a00}.shapetrace .error{color:#b00020}"
)


def to_html(view: View, *, full_page: bool = False) -> str:
    out: list[str] = ['<div class="shapetrace">', f"<style>{_STYLE}</style>"]
    if not view.seed_table:
        out.append(f"<p><b>{escape(view.title)}</b></p>")
    out.append("<table><thead><tr>")
    for c in view.columns:
        cls = ' class="num"' if c in NUMERIC_COLUMNS else ""
        out.append(f"<th{cls}>{escape(view.headers[c])}</th>")
    out.append("</tr></thead><tbody>")
    for r in view.rows:
        classes = []
        if r.is_op:
            classes.append("op")
        if r.failed:
            classes.append("failed")
        cls_attr = f' class="{" ".join(classes)}"' if classes else ""
        out.append(f"<tr{cls_attr}>")
        for c in view.columns:
            text = r.cells[c]
            if c is Column.LAYER and not view.seed_table:
                pad = max(r.depth, 0) * 1.2
                out.append(f'<td class="layer" style="padding-left:{pad:.1f}em" title="{escape(text)}">'
                           f"{escape(r.label)}</td>")
            else:
                cls = ' class="num"' if c in NUMERIC_COLUMNS else ""
                out.append(f"<td{cls}>{escape(text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    if view.totals and not view.seed_table:
        out.append("<table>")
        for label, value in view.totals:
            out.append(f'<tr><td>{escape(label)}</td><td class="num">{escape(value)}</td></tr>')
        out.append("</table>")
    for message, fix in view.warnings:
        out.append(f'<p class="warning"><b>warning:</b> {escape(message)}'
                   + (f"<br>fix: {escape(fix)}" if fix else "") + "</p>")
    if view.error:
        label, head = view.error[0]
        out.append(f'<div class="error"><p><b>{escape(label)}:</b> {escape(head)}</p><ul>')
        for lab, value in view.error[1:]:
            out.append(f"<li>{escape(lab) + ': ' if lab else ''}{escape(value)}</li>")
        out.append("</ul></div>")
    out.append("</div>")
    body = "\n".join(out)
    if full_page:
        return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>"
                + escape(view.title) + "</title></head><body>\n" + body + "\n</body></html>\n")
    return body + "\n"
