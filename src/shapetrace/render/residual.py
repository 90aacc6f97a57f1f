"""Which add rows are residual (shortcut) adds, decided from the data flow (``Report.edges``).

A residual add sums ``F(x)`` and a shortcut of ``x``, two tensors of the same shape
(``x + F(x)`` keeps the shape; ``scores + mask`` broadcasts, and is no shortcut):

* identity: one side is ``x`` itself and the other side derives from it through at least
  one row (ResNet's ``out += identity``; transformers' ``residual + attn(norm(residual))``,
  also when the residual is passed into the block, as in ``BertSelfOutput(hidden,
  input_tensor)``);
* projection: one side is ``x`` through a shortcut of modules of its own (ResNet's
  ``downsample``: a 1x1 conv and a norm; a spec's ``shortcut`` layers), and the other side
  derives from the same ``x`` without passing through any row of that shortcut.

The shortcut's rows are module rows, not the block's own ops: the rotary
``q * cos + rotate_half(q) * sin`` forks ``q`` with ops, and is a plain add. BERT's sum of
embeddings is neither case: each embedding looks up its own ids (a model input, or a
buffer that is not in the flow), so neither side derives from the other or from a common
tensor.

Rows are in execution order, so an edge always runs from a lower index to a higher one
(model inputs, ``"input:K"``, come first): a search for ``s`` among the ancestors of a row
never needs to go below ``s``'s index.
"""

from __future__ import annotations

from ..core.records import Report, subtree_end

Endpoint = int | str


def residual_adds(report: Report, add_kinds: frozenset[str]) -> set[int]:
    """The indices of the rows of ``report`` whose kind is in ``add_kinds`` (the add ops)
    that are residual adds, by the rule above."""
    rows = report.rows
    candidates = [j for j, r in enumerate(rows) if r.kind in add_kinds and r.leaf
                  and len(r.input_shapes) == 2 and r.input_shapes[0] == r.input_shapes[1]]
    if not candidates:
        return set()
    preds: dict[int, list[Endpoint]] = {}
    for e in report.edges:
        if isinstance(e.dst, int):
            preds.setdefault(e.dst, []).append(e.src)
    graph = _Graph(rows, preds)
    found = set()
    for j in candidates:
        sides = preds.get(j, [])
        if len(sides) != 2 or sides[0] == sides[1]:
            continue  # one side is no tensor of the flow (x + bias), or x + x
        a, b = sides
        if graph.derives(b, a) or graph.derives(a, b) or graph.projection(j, a, b) \
                or graph.projection(j, b, a):
            found.add(j)
    return found


def _order(e: Endpoint) -> int:
    return e if isinstance(e, int) else -1  # a model input comes before every row


class _Graph:
    def __init__(self, rows: list, preds: dict[int, list[Endpoint]]):
        self.rows, self.preds = rows, preds

    def ancestors(self, x: Endpoint, floor: int) -> set[Endpoint]:
        """The endpoints ``x`` derives from (``x`` excluded), down to index ``floor``."""
        seen: set[Endpoint] = set()
        todo = list(self.preds.get(x, ())) if isinstance(x, int) else []
        while todo:
            s = todo.pop()
            if s in seen or _order(s) < floor:
                continue
            seen.add(s)
            if isinstance(s, int):
                todo.extend(self.preds.get(s, ()))
        return seen

    def derives(self, x: Endpoint, s: Endpoint) -> bool:
        """``x`` is made from ``s`` through at least one row."""
        return s in self.ancestors(x, _order(s))

    def projection(self, j: int, s: Endpoint, body: Endpoint) -> bool:
        """Side ``s`` of add ``j`` is a tensor ``x`` through a shortcut of module rows inside
        the add's block, and ``body`` derives from the same ``x`` without them."""
        rows = self.rows
        depth = rows[j].depth
        lo = _parent(rows, j)
        if lo is None:
            return False
        hi = subtree_end(rows, lo)

        def shortcut_row(n: Endpoint) -> bool:  # inside the block, and no op of the block's own
            return isinstance(n, int) and lo < n < hi and (rows[n].depth > depth or not rows[n].is_op)

        if not shortcut_row(s):
            return False
        path: set[int] = set()
        forks: set[Endpoint] = set()
        todo = [s]
        while todo:
            n = todo.pop()
            if not shortcut_row(n):
                forks.add(n)
            elif n not in path:
                path.add(n)  # type: ignore[arg-type]
                todo.extend(self.preds.get(n, ()))  # type: ignore[arg-type]
        if not forks:
            return False
        body_from = self.ancestors(body, min(_order(f) for f in forks))
        return bool(forks & body_from) and not (path & body_from)


def _parent(rows: list, j: int) -> int | None:
    depth = rows[j].depth
    for i in range(j - 1, -1, -1):
        if rows[i].depth < depth:
            return i if rows[i].depth == depth - 1 else None
    return None


