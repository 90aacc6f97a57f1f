"""AcceptedSizes -> text: the terminal table, Markdown, JSON (``shapetrace sizes``)."""

from __future__ import annotations

import json as _json
from typing import Sequence

from ..core.symbolic.constraints import Kind
from ..core.symbolic.result import AcceptedSizes, PointStatus, Status

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
    out.append(f"{h}Accepted input sizes of {title}: {', '.join(names)} in 1..{res.max} "
               f"(input {tuple(res.input_shape)}, axes {list(res.dims)}; {exact})")
    out.append("")
    if res.error is not None:
        out.append(f"No size is accepted: {res.error}")
        return out
    boxes = res.boxes
    n = res.count
    out.append(f"{sub}Accepted ({', '.join(names)}): {len(boxes)} box{'es' if len(boxes) != 1 else ''}, "
               f"{n:,} size{'s' if n != 1 else ''}")
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
    if tips and (point is None or res.status(point).status is not Status.ACCEPTED or len(res.boxes) != 1):
        out.append("")
        out.append(f"{sub}To take any size:")
        for t in tips:
            out.append(bullet + t)
    return out


def _shown(res: AcceptedSizes) -> list[str]:
    """Per axis only the AT_LEAST constraint that binds (the largest bound), then the rest."""
    best: dict[int, tuple[int, str]] = {}
    other = []
    for c in res.constraints:
        if c.kind is Kind.AT_LEAST and c.a.single is not None:
            ch = c.a.single
            least = ch.least_at_least(c.bound, res.max)
            x = least if least is not None else res.max + 1
            if ch.var not in best or x > best[ch.var][0]:
                best[ch.var] = (x, c.text(res.names) + f"  ({res.names[ch.var]} >= {x})")
        else:
            t = c.text(res.names)
            if t not in other:
                other.append(t)
    return [best[v][1] for v in sorted(best)] + other


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


def json(res: AcceptedSizes) -> str:
    return _json.dumps(res.to_dict(), ensure_ascii=False, indent=1) + "\n"
