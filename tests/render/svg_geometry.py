"""Reads an SVG from ``render.svg`` back as geometry, and checks the picture's promises:
no node overlaps another, no edge crosses a node, groups nest."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def inner(self, eps: float = 0.5) -> "Rect":
        return Rect(self.x + eps, self.y + eps, self.w - 2 * eps, self.h - 2 * eps)

    def overlaps(self, o: "Rect") -> bool:
        return self.x < o.x + o.w and o.x < self.x + self.w and self.y < o.y + o.h and o.y < self.y + self.h

    def contains(self, o: "Rect") -> bool:
        return self.x <= o.x and self.y <= o.y and o.x + o.w <= self.x + self.w and o.y + o.h <= self.y + self.h


@dataclass
class Picture:
    nodes: dict[str, Rect]  # data-row (or data-key) -> box
    groups: dict[str, Rect]
    edges: list[tuple[str, str, list[tuple[float, float]], str]]  # src, dst, points, data-shape
    classes: dict[str, str]  # node key -> class attribute
    width: float
    height: float


def _rect(el) -> Rect:
    return Rect(float(el.get("x")), float(el.get("y")), float(el.get("width")), float(el.get("height")))


def parse(svg_text: str) -> Picture:
    root = ET.fromstring(svg_text)
    nodes, groups, edges, classes = {}, {}, [], {}
    for g in root.iter(NS + "g"):
        cls = g.get("class", "")
        key = g.get("data-row") or g.get("data-key")
        if cls.split()[0] == "n":
            nodes[key] = _rect(g.find(NS + "rect"))
            classes[key] = cls
        elif cls == "g":
            groups[key] = _rect(g.find(NS + "rect"))
        elif cls == "edge":
            d = g.find(NS + "path").get("d")
            pts = [(float(a), float(b)) for a, b in re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)]
            edges.append((g.get("data-src"), g.get("data-dst"), pts, g.get("data-shape")))
    return Picture(nodes, groups, edges, classes, float(root.get("width")), float(root.get("height")))


def _segment_hits(a: tuple[float, float], b: tuple[float, float], r: Rect) -> bool:
    """An axis-parallel segment meets the rectangle's interior."""
    (x1, y1), (x2, y2) = a, b
    lo_x, hi_x, lo_y, hi_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    return lo_x < r.x + r.w and hi_x > r.x and lo_y < r.y + r.h and hi_y > r.y


def problems(pic: Picture) -> list[str]:
    out = []
    keys = list(pic.nodes)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if pic.nodes[a].overlaps(pic.nodes[b]):
                out.append(f"node {a} overlaps node {b}")
    for src, dst, pts, _ in pic.edges:
        for p, q in zip(pts, pts[1:]):
            if p[0] != q[0] and p[1] != q[1]:
                out.append(f"edge {src}->{dst} has a slanted segment")
            for k, r in pic.nodes.items():
                if _segment_hits(p, q, r.inner()):
                    out.append(f"edge {src}->{dst} crosses node {k}")
    gkeys = list(pic.groups)
    for i, a in enumerate(gkeys):
        for b in gkeys[i + 1:]:
            ra, rb = pic.groups[a], pic.groups[b]
            if ra.overlaps(rb) and not (ra.contains(rb) or rb.contains(ra)):
                out.append(f"groups {a} and {b} overlap without nesting")
    for k, r in list(pic.nodes.items()) + list(pic.groups.items()):
        if r.x < 0 or r.y < 0 or r.x + r.w > pic.width or r.y + r.h > pic.height:
            out.append(f"{k} lies outside the picture (it would be clipped)")
    return out
