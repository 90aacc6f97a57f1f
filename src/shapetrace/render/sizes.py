"""AcceptedSizes -> text: the terminal table, Markdown, JSON (``shapetrace sizes``)."""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Sequence

from ..core.symbolic.constraints import Kind
from ..core.symbolic.result import AcceptedSizes, PointStatus, Status
from .fmt import laid_out
from .options import Layout

if TYPE_CHECKING:
    from .view import View

MAX_BOXES_SHOWN = 12
MAX_DIAGONAL_SHOWN = 10


def _iv(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}..{hi}"


def _box(names: Sequence[str], box) -> str:
    return ", ".join(f"{n} in {_iv(*iv)}" for n, iv in zip(names, box))


def _status_text(st: PointStatus, names) -> str:
    if st.status is Status.ACCEPTED:
        return "accepted"
    if st.status is Status.FOLDS:
        r = st.rows_per_sample
        return f"runs, but folds the batch: {r} rows per sample (not accepted)"
    why = st.failed[0].text(names) if st.failed else "fails"
    return f"raises: {why}"


def lines(res: AcceptedSizes, title: str, point: Sequence[int] | None = None, md: bool = False) -> list[str]:
    names = res.names
    out: list[str] = []
    h = "## " if md else ""
    sub = "### " if md else ""
    bullet = "- " if md else "  "
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    exact = "exact" if res.exact else "NOT exact (probed)"
    axes = ", ".join(map(str, res.dims))
    out.append(f"{h}Accepted sizes of {', '.join(names)} within 1..{res.max} for {title} "
               f"(input {tuple(res.input_shape)}, varying {'axes' if len(res.dims) > 1 else 'axis'} {axes}; "
               f"{exact})")
    out.append("")
    if res.error is not None:
        out.append(f"No size is accepted: {res.error}")
        return out
    nb = res.n_boxes
    n = res.count
    out.append(f"{sub}Accepted ({', '.join(names)}): {nb:,} box{'es' if nb != 1 else ''}, "
               f"{n:,} size{'s' if n != 1 else ''}")
    if nb > MAX_BOXES_SHOWN and len(res.groups) > 1:
        # independent axes: each group's own list, any combination of them (a U-Net's H and
        # W, each a multiple of 4, are 1024 x 1024 boxes at --max 4096)
        out.append(f"{bullet}any combination of:")
        for g in res.groups:
            gn = [names[v] for v in g.vars]
            if len(gn) == 1:
                shown = f"{gn[0]} in " + ", ".join(_iv(*b[0]) for b in g.boxes[:MAX_BOXES_SHOWN])
            else:
                shown = "; ".join(_box(gn, b) for b in g.boxes[:MAX_BOXES_SHOWN])
            more = f"; ... ({len(g.boxes):,} intervals)" if len(g.boxes) > MAX_BOXES_SHOWN else ""
            out.append(bullet + "  " + code(shown + more))
        out.append(f"{bullet}(--format json lists every box)")
    else:
        boxes = res.boxes
        if not boxes:
            out.append(f"{bullet}none")
        for b in boxes[:MAX_BOXES_SHOWN]:
            out.append(bullet + code(_box(names, b)))
        if len(boxes) > MAX_BOXES_SHOWN:
            out.append(f"{bullet}... {len(boxes) - MAX_BOXES_SHOWN:,} more boxes (--format json lists them all)")
    if res.probed is not None:
        out.append("")
        out.append(f"Not modelled: {res.probed['op']}; the model was run at sampled sizes only:")
        for nm, s in zip(names, res.probed["sizes"]):
            shown = ", ".join(map(str, s[:24])) + (", ..." if len(s) > 24 else "")
            out.append(f"{bullet}{nm}: {shown}")
    diag = res.diagonal() if len(names) > 1 else []
    if diag and any(st.status is Status.FOLDS for _, _, st in diag):
        out.append("")
        out.append(f"{sub}Square inputs ({' = '.join(names)}):")
        for lo, hi, st in diag[:MAX_DIAGONAL_SHOWN]:
            out.append(f"{bullet}{code(_iv(lo, hi))}: {_status_text(st, names)}")
        if len(diag) > MAX_DIAGONAL_SHOWN:
            folds = [(lo, hi, st) for lo, hi, st in diag[MAX_DIAGONAL_SHOWN:] if st.status is Status.FOLDS]
            more = ", ".join(f"{_iv(lo, hi)} (x{st.rows_per_sample})" for lo, hi, st in folds[:6])
            out.append(f"{bullet}... up to {res.max}" + (f"; it folds again at {more}" if more else ""))
    if res.constraints:
        out.append("")
        out.append(f"{sub}Constraints (the sizes left out break one of them):")
        for c in _shown(res):
            out.append(bullet + code(c))
    if res.notes:
        out.append("")
        for t in res.notes:
            out.append(f"Note: {t} (not exact)")
    if point is not None:
        out.append("")
        st = res.status(point)
        pt = "x".join(map(str, point))
        out.append(f"{sub}Your input ({', '.join(names)} = {pt}): {_status_text(st, names)}")
        if st.status is not Status.ACCEPTED:
            near = res.nearest(point)
            if near:
                out.append(f"{bullet}nearest accepted: " + ", ".join("x".join(map(str, p)) for p in near))
    tips = res.advice()
    if tips and (point is None or res.status(point).status is not Status.ACCEPTED or res.n_boxes != 1):
        out.append("")
        out.append(f"{sub}To take any size:")
        for t in tips:
            out.append(bullet + t)
    return out


def _shown(res: AcceptedSizes) -> list[str]:
    """The constraints of the JSON (``AcceptedSizes.binding``), a bound with its size."""
    out = []
    for c, x in res.binding():
        t = c.text(res.names)
        if x is not None:
            t += f"  ({res.names[c.a.single.var]} {'>=' if c.kind is Kind.AT_LEAST else '<='} {x})"
        out.append(t)
    return out


def rows_lines(res: AcceptedSizes, md: bool = False) -> list[str]:
    names = res.names
    if not res.rows:
        return []
    if md:
        out = ["", "| Row | Kind | Output |", "|---|---|---|"]
        for r in res.rows:
            out.append(f"| {r.name} | {r.kind} | ({', '.join(x.text(names) for x in r.output)}) |")
        return out
    w = max(len(r.name) for r in res.rows)
    k = max(len(r.kind) for r in res.rows)
    out = ["", f"{'Row':<{w}}  {'Kind':<{k}}  Output"]
    for r in res.rows:
        out.append(f"{r.name:<{w}}  {r.kind:<{k}}  ({', '.join(x.text(names) for x in r.output)})")
    return out


def text(res: AcceptedSizes, title: str, point=None, rows: bool = True) -> str:
    body = lines(res, title, point) + (rows_lines(res) if rows else [])
    return "\n".join(body) + "\n"


def markdown(res: AcceptedSizes, title: str, point=None, rows: bool = True) -> str:
    body = lines(res, title, point, md=True) + (rows_lines(res, md=True) if rows else [])
    return "\n".join(body) + "\n"


def formula_text(parts: Sequence[str], shape: Sequence[int], hwc: bool, batch: int | None) -> str:
    """A row's output formula in a layout, as ``fmt.shape_text`` lays out its concrete
    ``shape`` (one rule: ``fmt.laid_out``): ``hwc`` drops the batch and puts channels last."""
    p = laid_out(parts, shape, Layout.HWC if hwc else Layout.NCHW, batch)
    return "(" + ", ".join(p) + ("," if len(p) == 1 else "") + ")"


def with_symbolic(view: View, formulas: Sequence[str | None], lang) -> View:
    """The flow table's view (render/view.py) with the ``summary --symbolic`` column: each
    row's output as a formula of the varying input sizes (``--`` where there is none)."""
    import dataclasses

    from ..core.words import text as words
    from .options import Column

    rows = [dataclasses.replace(r, cells={**r.cells, Column.SYMBOLIC: f or "--"},
                                values={**r.values, Column.SYMBOLIC: f})
            for r, f in zip(view.rows, formulas)]
    return dataclasses.replace(view, columns=tuple(c for c in view.columns if c is not Column.SYMBOLIC)
                               + (Column.SYMBOLIC,),
                               headers={**view.headers, Column.SYMBOLIC: words("column.symbolic", lang)}, rows=rows)


def json(res: AcceptedSizes) -> str:
    return _json.dumps(res.to_dict(), ensure_ascii=False, indent=1) + "\n"
