"""Fold a flow to a depth: rows deeper than ``depth`` disappear into their ancestor.

Works on records only (no torch), so a spec's flow folds the same way as a traced
model's. The folded row takes over its hidden descendants' parameters (so the
params column still adds up to the total) and the MACs of the leaves under it; the
report's totals are those of the full flow.
"""

from __future__ import annotations

import copy

from ..core.records import Edge, Report, Row, mark_leaves


def fold(report: Report, depth: int) -> Report:
    """Rows deeper than ``depth`` fold into their shown ancestor. Depth counts as torchinfo's:
    1 keeps the model's direct children. A traced model's flow has the model itself as a
    root row at depth 0; a spec's flow has no root (its top layers are at depth 0), so for it
    the cut is one level higher."""
    rooted = bool(report.rows) and report.rows[0].depth == 0 and all(r.depth >= 1 for r in report.rows[1:])
    if not rooted:  # no root row to show at depth 0: its top layers are the least there is
        depth = max(depth - 1, 0)
    rows: list[Row] = []
    keeper: Row | None = None  # the shown row hidden rows fold into
    hidden_macs: dict[int, list[int | None]] = {}
    index: dict[int, int] = {}  # old row index -> the shown row's index
    for i, r in enumerate(report.rows):
        if r.depth <= depth:
            keeper = copy.copy(r)
            keeper.notes = list(r.notes)
            rows.append(keeper)
            index[i] = len(rows) - 1
            continue
        if keeper is None:
            continue
        index[i] = len(rows) - 1
        keeper.params += r.params
        keeper.trainable_params += r.trainable_params
        keeper.param_bytes += r.param_bytes
        if r.leaf:
            hidden_macs.setdefault(id(keeper), []).append(r.macs)
    for r in rows:
        leaves = hidden_macs.get(id(r))
        if leaves is not None:
            r.macs = None if any(m is None for m in leaves) else sum(leaves)  # type: ignore[misc]
    mark_leaves(rows)
    return Report(model=report.model, input_shapes=list(report.input_shapes), rows=rows,
                  totals=copy.copy(report.totals), warnings=list(report.warnings), error=report.error,
                  device=report.device, edges=_fold_edges(report.edges, index),
                  not_reached=[u for u in report.not_reached if u.depth <= depth],
                  error_inputs=_dedup(_end(e, index) for e in report.error_inputs))


def _end(e: int | str, index: dict[int, int]) -> int | str:
    return e if isinstance(e, str) else index.get(e, e)


def _dedup(items) -> list:
    return list(dict.fromkeys(items))


def _fold_edges(edges: list[Edge], index: dict[int, int]) -> list[Edge]:
    """Edges between the shown rows: a hidden row's edges move to its shown ancestor;
    those that fall inside one folded row disappear."""
    out: dict[tuple, Edge] = {}
    for e in edges:
        src, dst = _end(e.src, index), _end(e.dst, index)
        if src == dst:
            continue
        out.setdefault((src, dst, e.shape), Edge(src, dst, e.shape))
    return list(out.values())
