"""Report -> Graph: what a picture of the flow shows, before any geometry.

The nodes are the report's leaf rows (a container row is a group around its rows), the
model's inputs and outputs, the failing layer and what never ran; the edges are
``Report.edges``. Runs of identical sibling blocks (ResNet's bottlenecks, a transformer's
layers) collapse into the first one, marked ``×N``. ``render/graph_svg.py`` lays the graph out.
Numbers only, plus the labels the renderers already use; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..core.records import Report, Row, subtree_end


class NodeState(str, Enum):
    RAN = "ran"
    FAILED = "failed"  # the layer the flow stopped at
    UNREACHED = "unreached"  # never ran: the flow stopped before it
    INPUT = "input"
    OUTPUT = "output"


@dataclass
class Node:
    key: int | str  # the row index, "input:K", "output:K", "error" or "unreached:K"
    label: str  # short name: the attribute, the op, or "input 0"
    kind: str
    name: str  # the qualified name (a tooltip; empty for inputs/outputs)
    shapes: list[tuple[int, ...]]  # output shapes (input shapes for an input node)
    state: NodeState = NodeState.RAN
    depth: int = 0
    groups: tuple[int, ...] = ()  # indices of the container rows around it, outermost first
    repeat: int = 1  # > 1: the first of N identical blocks, the others hidden
    message: str = ""  # the failing node's one-line error


@dataclass
class Group:
    row: int  # the container row's index
    label: str
    kind: str
    name: str
    parent: int | None  # the enclosing group's row index
    repeat: int = 1


@dataclass
class GraphEdge:
    src: int | str
    dst: int | str
    shape: tuple[int, ...]


@dataclass
class Graph:
    title: str
    nodes: list[Node]  # in flow order (top to bottom)
    groups: dict[int, Group]
    edges: list[GraphEdge]
    batch: int | None = None
    notes: list[str] = field(default_factory=list)


def _label(report: Report, r: Row) -> str:
    if r.depth == 0 and r.name == "":
        return report.model
    return r.kind if r.is_op else (r.name.rpartition(".")[2] or r.name)


def build_graph(report: Report, *, collapse: bool = True) -> Graph:
    rows = report.rows
    n = len(rows)
    hidden: set[int] = set()
    repeat: dict[int, int] = {}
    alias: dict[int, int] = {}  # a hidden row -> its twin in the run's first block
    parents = _parents(rows)
    if collapse:
        for first, count, members in _runs(report, parents):
            repeat[first] = count
            for lo, hi in members[1:]:
                for k in range(hi - lo):
                    hidden.add(lo + k)
                    alias[lo + k] = members[0][0] + k

    failing = report.error.row if report.error else None
    groups: dict[int, Group] = {}
    nodes: list[Node] = []
    for k, shape in enumerate(report.input_shapes):
        nodes.append(Node(f"input:{k}", f"input {k}" if len(report.input_shapes) > 1 else "input",
                          "", "", [tuple(shape)], NodeState.INPUT))
    for i, r in enumerate(rows):
        if i in hidden:
            continue
        chain = _chain(parents, i)
        if not r.leaf:
            groups[i] = Group(i, _label(report, r), r.kind, r.name or report.model,
                              parents[i], repeat.get(i, 1))
            continue
        failed = failing is not None and i == n - 1 and r.name == failing and not r.output_shapes
        nodes.append(Node(i, _label(report, r), r.kind, r.name or report.model,
                          [tuple(s) for s in r.output_shapes],
                          NodeState.FAILED if failed else NodeState.RAN, r.depth, chain,
                          repeat.get(i, 1), report.error.message if failed and report.error else ""))
    edges = _edges(report, hidden, alias)
    if report.error is not None and not any(nd.state is NodeState.FAILED for nd in nodes):
        d = report.error
        nodes.append(Node("error", d.row.rpartition(".")[2] or d.row, d.kind, d.row, [],
                          NodeState.FAILED, message=d.message))
        for src in report.error_inputs:
            end = alias.get(src, src) if isinstance(src, int) else src
            if isinstance(end, str) or end not in hidden:
                edges.append(GraphEdge(end, "error", _shape_of(report, end)))
    for k, u in enumerate(report.not_reached):
        nodes.append(Node(f"unreached:{k}", u.name.rpartition(".")[2] or u.name, u.kind, u.name, [],
                          NodeState.UNREACHED, u.depth))
    outs = sorted({e.dst for e in report.edges if isinstance(e.dst, str) and e.dst.startswith("output:")},
                  key=lambda s: int(s.split(":")[1]))
    shapes = {e.dst: e.shape for e in report.edges if isinstance(e.dst, str)}
    for o in outs:
        k = o.split(":")[1]
        nodes.append(Node(o, "output" if len(outs) == 1 else f"output {k}", "", "",
                          [tuple(shapes[o])], NodeState.OUTPUT))
    batch = report.input_shapes[0][0] if report.input_shapes and len(report.input_shapes[0]) >= 2 else None
    return Graph(report.model, nodes, groups, edges, batch)


def _shape_of(report: Report, end: int | str) -> tuple[int, ...]:
    """The first output of a row, or the shape of a model input."""
    if isinstance(end, int):
        outs = report.rows[end].output_shapes
        return tuple(outs[0]) if outs else ()
    if end.startswith("input:"):
        k = int(end.split(":")[1])
        return tuple(report.input_shapes[k]) if k < len(report.input_shapes) else ()
    return ()


def _parents(rows: list[Row]) -> list[int | None]:
    """Each row's enclosing row (rows are in pre-order)."""
    out: list[int | None] = []
    stack: list[int] = []
    for i, r in enumerate(rows):
        while stack and rows[stack[-1]].depth >= r.depth:
            stack.pop()
        out.append(stack[-1] if stack else None)
        stack.append(i)
    return out


def _chain(parents: list[int | None], i: int) -> tuple[int, ...]:
    out = []
    p = parents[i]
    while p is not None:
        out.append(p)
        p = parents[p]
    return tuple(reversed(out))


def _signature(rows: list[Row], lo: int, hi: int) -> tuple:
    base = rows[lo].depth
    return tuple((r.depth - base, r.kind, r.is_op, tuple(map(tuple, r.input_shapes)),
                  tuple(map(tuple, r.output_shapes)), r.params, r.macs) for r in rows[lo:hi])


def _runs(report: Report, parents: list[int | None]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Runs of two or more consecutive identical sibling blocks that form a chain (each
    block's output feeds only the next block). Returns (first row, N, [(lo, hi) ...])."""
    rows = report.rows
    if report.error is not None:
        return []  # a failing flow is drawn in full: the failure may be in any copy
    spans_by_parent: dict[int | None, list[tuple[int, int]]] = {}
    i = 0
    while i < len(rows):
        end = subtree_end(rows, i)
        spans_by_parent.setdefault(parents[i], []).append((i, end))
        i += 1
    runs = []
    for spans in spans_by_parent.values():
        k = 0
        while k < len(spans):
            lo, hi = spans[k]
            r = rows[lo]
            if r.is_op or (hi - lo == 1 and r.params == 0):
                k += 1
                continue
            sig = _signature(rows, lo, hi)
            m = k + 1
            while m < len(spans) and spans[m][0] == spans[m - 1][1] and \
                    _signature(rows, *spans[m]) == sig:
                m += 1
            members = spans[k:m]
            members = _chained(report, members)
            if len(members) >= 2:
                runs.append((members[0][0], len(members), members))
                k += len(members)
            else:
                k += 1
    return runs


def _chained(report: Report, members: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest prefix of ``members`` in which each block's output goes only to the next
    block (or, from the last, out of the run)."""
    if len(members) < 2:
        return members
    where: dict[int, int] = {}
    for m, (lo, hi) in enumerate(members):
        for r in range(lo, hi):
            where[r] = m
    ok = len(members)
    for e in report.edges:
        s = where.get(e.src) if isinstance(e.src, int) else None
        d = where.get(e.dst) if isinstance(e.dst, int) else None
        if s is None or s == d or d == s + 1:
            continue
        ok = min(ok, s + 1)  # block s feeds something past the next block: the run ends at s
    return members[:ok] if ok >= 2 else members[:1]


def _edges(report: Report, hidden: set[int], alias: dict[int, int]) -> list[GraphEdge]:
    out: dict[tuple, GraphEdge] = {}
    for e in report.edges:
        s_hidden = isinstance(e.src, int) and e.src in hidden
        d_hidden = isinstance(e.dst, int) and e.dst in hidden
        if s_hidden and d_hidden:
            continue
        if d_hidden:
            continue  # into a hidden copy: its twin in the first block has the same edge
        src = alias[e.src] if s_hidden else e.src
        if src == e.dst:
            continue
        out.setdefault((src, e.dst, e.shape), GraphEdge(src, e.dst, tuple(e.shape)))
    return list(out.values())
