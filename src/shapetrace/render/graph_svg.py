"""Graph -> SVG: the model's flow as a picture, from the same records as the tables.

A layered layout of our own, specialised for what flows are: a chain in execution order,
with skip edges (residual shortcuts, concat branches, DenseNet's many skips) and nested
module groups. Every node has its own rank (row), so no two nodes overlap; an edge to the
next rank is a straight line down; any other edge leaves its source on the right, runs
down a lane at the right of the innermost group that holds both ends, and enters its
target on the right, so no edge crosses a node. Lanes are given shortest edge first, so
short skips lie inside long ones. Why not Graphviz: ``dot`` is a system binary that
``pip install`` does not bring, and this graph's shape (a chain with skips, inside groups)
is laid out exactly by the rules above, in a few milliseconds for ResNet-50.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
import re
from xml.sax.saxutils import escape as _escape, quoteattr as _quoteattr

from ..core.explain import Lang
from .fmt import shape_text, shapes_text
from .graph import Graph, GraphEdge, Node, NodeState
from .options import Layout
from .view import word

NODE_H = 36  # a node: two lines of text
GAP = 24  # between ranks: room for an edge's shape label
PAD = 8  # a group's border around what it holds
TITLE = 16  # a group's title line
LANE = 14  # between the vertical runs of skip edges
MARGIN = 12
CHAR = 6.7  # width of a character of the 11 px monospace font
MAX_CHARS = 60  # node text longer than this is cut (the tooltip has it whole)

# The picture's style, scoped to it. The web page (whose CSP refuses inline styles) has the
# same text in static/convpic.css; a test keeps the two equal.
STYLE = (
    ".shapetrace-graph text{font-family:'DejaVu Sans Mono','Noto Sans Mono CJK KR','NanumGothicCoding',monospace;font-size:11px;fill:#222}"
    '.shapetrace-graph .g rect{fill:none;stroke:#9aa5b1;stroke-dasharray:4 3}'
    '.shapetrace-graph .g text{fill:#52606d}'
    '.shapetrace-graph .n rect{fill:#fff;stroke:#3e4c59}'
    '.shapetrace-graph .n.op rect{fill:#f5f7fa}'
    '.shapetrace-graph .n.io rect{fill:#e3f0ff;stroke:#2f6fb2}'
    '.shapetrace-graph .n.failed rect{fill:#fdecea;stroke:#c62828;stroke-width:2}'
    '.shapetrace-graph .n.failed text.s{fill:#c62828}'
    '.shapetrace-graph .n.unreached rect{fill:#fafafa;stroke:#b0b7bf;stroke-dasharray:3 3}'
    '.shapetrace-graph .n.unreached text{fill:#9aa5b1}'
    '.shapetrace-graph .n text.k{fill:#7b8794}'
    '.shapetrace-graph .e{fill:none;stroke:#52606d;stroke-width:1.2}'
    '.shapetrace-graph .e.err{stroke:#c62828;stroke-dasharray:4 2}'
    '.shapetrace-graph .el{font-size:10px;fill:#52606d}'
)


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


# Characters XML 1.0 does not allow (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/F):
# a name with one (a ModuleDict key can be any string) would make the whole SVG unreadable.
# https://www.w3.org/TR/xml/#charsets
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(s: str) -> str:
    """Text for an SVG element: XML-escaped, characters XML cannot hold shown as U+FFFD."""
    return _escape(_NOT_XML.sub("\ufffd", s))


def quoteattr(s: str) -> str:
    return _quoteattr(_NOT_XML.sub("\ufffd", s))


def text_width(s: str) -> float:
    """Monospace width; East Asian wide characters (Korean) take two cells."""
    return CHAR * sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _cut(s: str, n: int = MAX_CHARS) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _node_lines(nd: Node, layout: Layout, batch: int | None, lang: Lang) -> tuple[str, str, str]:
    """(name, kind, second line): the first line is the name in bold and the kind in grey."""
    label = nd.label + (f" ×{nd.repeat}" if nd.repeat > 1 else "")
    if nd.state is NodeState.INPUT:
        return word("graph_input", lang) + nd.label[5:], "", shapes_text(nd.shapes, layout, batch)
    if nd.state is NodeState.OUTPUT:
        return word("graph_output", lang) + nd.label[6:], "", shapes_text(nd.shapes, layout, batch)
    kind = "" if (not nd.kind or nd.kind == nd.label) else nd.kind
    if nd.state is NodeState.FAILED:
        return label, kind, word("failed", lang) + (": " + nd.message if nd.message else "")
    if nd.state is NodeState.UNREACHED:
        return label, kind, word("graph_unreached", lang)
    return label, kind, shapes_text(nd.shapes, layout, batch) or "--"


def _top(name: str, kind: str) -> str:
    return f"{name}  {kind}" if kind else name


def svg(graph: Graph, *, layout: Layout = Layout.NCHW, lang: Lang = Lang.EN) -> str:
    lay = _Layout(graph, layout, lang)
    return lay.draw()


class _Layout:
    def __init__(self, graph: Graph, layout: Layout, lang: Lang):
        self.g, self.layout, self.lang = graph, layout, lang
        self.lines = [_node_lines(nd, layout, graph.batch, lang) for nd in graph.nodes]
        # The failing node's message does not widen the column: it is cut to fit (its
        # tooltip has it whole).
        widest = max((text_width(_cut(t)) for nd, (name, kind, second) in zip(graph.nodes, self.lines)
                      for t in (_top(name, kind), "" if nd.state is NodeState.FAILED else second)),
                     default=100)
        self.w = max(160.0, widest + 20)
        self.chars = max(MAX_CHARS // 2, int((self.w - 16) / CHAR))
        self.rank = {nd.key: k for k, nd in enumerate(graph.nodes)}
        self._place_y()
        self._route()
        self._place_x()

    # -- vertical: one rank per node; group titles and borders take room between ranks
    def _place_y(self) -> None:
        g = self.g
        y = MARGIN + TITLE + 4  # the model's title line
        prev: tuple[int, ...] = ()
        self.ybox: list[float] = []
        self.label_y: list[float] = []  # where a straight edge into this node writes its shape
        self.group_top: dict[int, float] = {}
        self.group_bottom: dict[int, float] = {}
        self.title_y: dict[int, float] = {}
        for k, nd in enumerate(g.nodes):
            chain = nd.groups
            common = _common(prev, chain)
            closing = len(prev) - common
            opening = len(chain) - common
            if k > 0:
                bottom = self.ybox[-1] + NODE_H
                for j, grp in enumerate(reversed(prev[common:])):
                    self.group_bottom[grp] = bottom + PAD * (j + 1)
                y = bottom + PAD * closing + GAP
                self.label_y.append(bottom + PAD * closing + 14)
            else:
                self.label_y.append(y)
            for j, grp in enumerate(chain[common:]):
                self.group_top[grp] = y - GAP / 2 + 2 if j == 0 and k > 0 else y - 4
                self.title_y[grp] = self.group_top[grp] + TITLE - 4
                y = self.group_top[grp] + TITLE + 2
                if j == opening - 1:
                    y += 4
            self.ybox.append(y)
            prev = chain
        bottom = (self.ybox[-1] + NODE_H) if self.ybox else y
        for j, grp in enumerate(reversed(prev)):
            self.group_bottom[grp] = bottom + PAD * (j + 1)
        self.height = bottom + PAD * len(prev) + MARGIN

    # -- edges: straight to the next rank, else out to a lane
    def _route(self) -> None:
        g = self.g
        self.straight: list[GraphEdge] = []
        self.skips: list[tuple[GraphEdge, int | None]] = []  # (edge, the group whose lane it uses)
        ports: dict[int | str, int] = {}
        fed: set[int | str] = set()  # targets that already have their straight edge (one line per gap)
        for e in g.edges:
            if e.src not in self.rank or e.dst not in self.rank:
                continue
            rs, rd = self.rank[e.src], self.rank[e.dst]
            if rd == rs + 1 and e.dst not in fed:
                fed.add(e.dst)
                self.straight.append(e)
                continue
            a, b = g.nodes[rs].groups, g.nodes[rd].groups
            c = _common(a, b)
            owner = a[c - 1] if c else None
            self.skips.append((e, owner))
            ports[e.src] = ports.get(e.src, 0) + 1
            ports[e.dst] = ports.get(e.dst, 0) + 1
        # lanes: per owning group, shortest first, the lowest lane free along the run
        self.lane: dict[int, int] = {}
        self.lanes_of: dict[int | None, int] = {}
        by_owner: dict[int | None, list[int]] = {}
        for i, (e, owner) in enumerate(self.skips):
            by_owner.setdefault(owner, []).append(i)
        for owner, idx in by_owner.items():
            idx.sort(key=lambda i: (abs(self._rank_of(self.skips[i][0].dst) - self._rank_of(self.skips[i][0].src)), i))
            busy: list[list[tuple[int, int]]] = []
            for i in idx:
                e = self.skips[i][0]
                lo, hi = sorted((self._rank_of(e.src), self._rank_of(e.dst)))
                for k, spans in enumerate(busy):
                    if all(hi < a or lo > b for a, b in spans):
                        spans.append((lo, hi))
                        self.lane[i] = k
                        break
                else:
                    busy.append([(lo, hi)])
                    self.lane[i] = len(busy) - 1
            self.lanes_of[owner] = len(busy)
        # ports: each skip end gets its own height on the node's right side
        self.port_y: dict[tuple[int, str], float] = {}
        used: dict[int | str, int] = {}
        for i, (e, _) in enumerate(self.skips):
            for end, role in ((e.src, "src"), (e.dst, "dst")):
                n = ports[end]
                k = used.get(end, 0)
                used[end] = k + 1
                top = self.ybox[self.rank[end]]
                self.port_y[(i, role)] = top + NODE_H * (k + 1) / (n + 1)

    def _worth_a_label(self, e: GraphEdge) -> bool:
        """A straight edge's shape is written only where its source node does not already
        show it (a node with several outputs, a failing layer's input); every edge has it
        in its tooltip and its data-shape."""
        src = self.g.nodes[self.rank[e.src]]
        return src.state is not NodeState.INPUT and (len(src.shapes) != 1 or tuple(src.shapes[0]) != e.shape)

    def _rank_of(self, key: int | str) -> int:
        return self.rank[key]

    # -- horizontal: one column of nodes; groups around it; lanes at each group's right
    def _place_x(self) -> None:
        g = self.g
        children: dict[int | None, list[int]] = {}
        for row, grp in g.groups.items():
            if row in self.group_top:
                children.setdefault(grp.parent if grp.parent in self.group_top else None, []).append(row)
        self.left0 = MARGIN + PAD * (self._height(None, children)) + 2
        self.gbox: dict[int, Box] = {}
        self.base: dict[int | None, float] = {}

        def place(owner: int | None, level: int) -> float:
            right = self.left0 + self.w
            for c in children.get(owner, []):
                right = max(right, place(c, level + 1))
            self.base[owner] = right
            right += LANE * self.lanes_of.get(owner, 0) + (LANE / 2 if self.lanes_of.get(owner) else 0)
            if owner is None:
                return right
            left = self.left0 - PAD * self._height(owner, children)
            self.gbox[owner] = Box(left, self.group_top[owner], right + PAD - left,
                                   self.group_bottom[owner] - self.group_top[owner])
            return right + PAD

        self.width = place(None, 0) + MARGIN

    def _height(self, owner: int | None, children: dict[int | None, list[int]]) -> int:
        kids = children.get(owner, [])
        below = max((self._height(c, children) for c in kids), default=0)
        return below + (0 if owner is None else 1)

    def node_box(self, k: int) -> Box:
        return Box(self.left0, self.ybox[k], self.w, NODE_H)

    def skip_points(self, i: int) -> list[tuple[float, float]]:
        e, owner = self.skips[i]
        x = self.base[owner] + LANE * (self.lane[i] + 1)
        x0 = self.left0 + self.w
        ys, yd = self.port_y[(i, "src")], self.port_y[(i, "dst")]
        return [(x0, ys), (x, ys), (x, yd), (x0, yd)]

    def straight_points(self, e: GraphEdge) -> list[tuple[float, float]]:
        xs = self.left0 + self.w / 2
        rs, rd = self.rank[e.src], self.rank[e.dst]
        return [(xs, self.ybox[rs] + NODE_H), (xs, self.ybox[rd])]

    # -- drawing
    def draw(self) -> str:
        g = self.g
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="shapetrace-graph" '
               f'width="{self.width:.0f}" height="{self.height:.0f}" '
               f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" role="img" '
               f'aria-label={quoteattr(g.title)}>',
               f"<style>{STYLE}</style>",
               '<defs><marker id="st-arrow" viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" '
               'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" '
               'fill="#52606d"/></marker></defs>',
               f'<text x="{MARGIN}" y="{MARGIN + TITLE - 4}" font-weight="bold">{escape(g.title)}</text>']
        for row, box in sorted(self.gbox.items(), key=lambda kv: kv[1].w, reverse=True):
            grp = g.groups[row]
            title = grp.label + (f" ×{grp.repeat}" if grp.repeat > 1 else "")
            if grp.kind and grp.kind != grp.label:
                title += f"  {grp.kind}"
            title = _cut(title)
            # left-aligned unless it would run into the straight edges down the column's middle
            centre = self.left0 + self.w / 2
            tx = box.x + 6 if box.x + 6 + text_width(title) < centre - 4 else centre + 6
            out.append(f'<g class="g" data-row="{row}"><title>{escape(grp.name)}</title>'
                       f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="6"/>'
                       f'<text x="{tx:.1f}" y="{self.title_y[row]:.1f}">{escape(title)}</text></g>')
        for e in self.straight:
            pts = self.straight_points(e)
            cls = "e err" if e.dst == "error" else "e"
            out.append(_edge_open(e, self.layout, g.batch) +
                       f'<path class="{cls}" d="{_path(pts)}" marker-end="url(#st-arrow)"/>')
            if e.shape and self._worth_a_label(e):
                y = self.label_y[self.rank[e.dst]]
                out.append(f'<text class="el" x="{pts[0][0] + 6:.1f}" y="{y:.1f}">'
                           f'{escape(shape_text(e.shape, self.layout, g.batch))}</text>')
            out.append("</g>")
        for i, (e, _) in enumerate(self.skips):
            pts = self.skip_points(i)
            cls = "e err" if e.dst == "error" else "e"
            out.append(_edge_open(e, self.layout, g.batch) +
                       f'<path class="{cls}" d="{_path(pts)}" marker-end="url(#st-arrow)"/>')
            if e.shape:
                text = shape_text(e.shape, self.layout, g.batch)
                run = abs(pts[2][1] - pts[1][1])
                if text_width(text) + 8 < run:
                    # rotated a quarter turn, the glyphs lie right of the lane, clear of the next
                    x, y = pts[1][0] + 3, (pts[1][1] + pts[2][1]) / 2
                    out.append(f'<text class="el" transform="translate({x:.1f},{y:.1f}) rotate(90)" '
                               f'text-anchor="middle">{escape(text)}</text>')
            out.append("</g>")
        for k, nd in enumerate(g.nodes):
            box = self.node_box(k)
            name, kind, bottom = self.lines[k]
            top = _top(name, kind)
            cls = {NodeState.RAN: "n", NodeState.FAILED: "n failed", NodeState.UNREACHED: "n unreached",
                   NodeState.INPUT: "n io", NodeState.OUTPUT: "n io"}[nd.state]
            if nd.state is NodeState.RAN and isinstance(nd.key, int) and nd.kind == nd.label:
                cls += " op"
            data = f' data-row="{nd.key}"' if isinstance(nd.key, int) else f' data-key="{nd.key}"'
            tip = nd.name or top
            if nd.message:
                tip += "\n" + nd.message
            out.append(f'<g class="{cls}"{data}><title>{escape(tip)}</title>'
                       f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
                       f'rx="{9 if nd.state in (NodeState.INPUT, NodeState.OUTPUT) else 4}"/>'
                       f'<text x="{box.x + 8:.1f}" y="{box.y + 15:.1f}">{_name_kind(name, kind)}</text>'
                       f'<text class="s" x="{box.x + 8:.1f}" y="{box.y + 29:.1f}">'
                       f'{escape(_cut(bottom, self.chars))}</text>'
                       "</g>")
        out.append("</svg>")
        return "\n".join(out) + "\n"


def _edge_open(e: GraphEdge, layout: Layout, batch: int | None) -> str:
    shape = shape_text(e.shape, layout, batch) if e.shape else ""
    return (f'<g class="edge" data-src="{e.src}" data-dst="{e.dst}" data-shape={quoteattr(shape)}>'
            + (f"<title>{escape(shape)}</title>" if shape else ""))


def _name_kind(name: str, kind: str) -> str:
    cut = _cut(_top(name, kind))
    if not kind or len(cut) <= len(name) + 2:
        return f'<tspan font-weight="bold">{escape(cut)}</tspan>'
    return (f'<tspan font-weight="bold">{escape(name)}</tspan>'
            f'<tspan class="k">{escape(cut[len(name):])}</tspan>')


def _path(pts: list[tuple[float, float]]) -> str:
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)


def _common(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
