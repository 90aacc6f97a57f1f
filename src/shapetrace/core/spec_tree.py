"""A spec's tree: its node types, the block types (``BLOCK_TYPES``, described once and
served to the page), the spec record and the one walk over its rows (``walk``).

Split from ``core/spec.py``, which reads spec files into this tree and computes its flow;
``core.spec`` re-exports every public name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterator, Union

from .records import Shape


@dataclass(frozen=True)
class LayerNode:
    type: str
    name: str | None
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class ResidualNode:
    name: str | None
    body: tuple["Node", ...]
    shortcut: tuple["Node", ...] | None  # None: identity
    post: tuple["Node", ...] = ()


@dataclass(frozen=True)
class ConcatNode:
    name: str | None
    dim: int
    branches: tuple[tuple["Node", ...], ...]


@dataclass(frozen=True)
class SequentialNode:
    name: str | None
    layers: tuple["Node", ...]


Node = Union[LayerNode, ResidualNode, ConcatNode, SequentialNode]


class FieldKind(str, Enum):
    LAYERS = "layers"  # a list of layers
    BRANCHES = "branches"  # a list of layer lists
    INT = "int"


@dataclass(frozen=True)
class BlockField:
    key: str  # the spec's key, also the node's attribute
    kind: FieldKind
    required: bool = False
    min_items: int = 0
    always: bool = False  # written back by ``to_dict`` even when empty
    after_op: bool = False  # its rows come after the block's own op row (Residual's post)
    section: str | None = None  # the rows' name section ("resblock1.body.0"); None: the key
    default: int | None = None  # an INT field's value when the spec leaves it out
    start_items: int = 0  # how many (empty) lists a new block's BRANCHES field starts with (the page)

    @property
    def row_section(self) -> str:
        return self.key if self.section is None else self.section


@dataclass(frozen=True)
class BlockType:
    """A spec block, described once: the parser's keys, the tree walk (``walk``),
    ``Spec.to_dict`` and the web API's schema (web/schema.py) read it."""

    type: str
    node: type
    description: str
    fields: tuple[BlockField, ...]
    op: str | None = None  # the block's own row after its layers ("add", "cat")

    @property
    def keys(self) -> set[str]:
        return {"type", "name", *(f.key for f in self.fields)}

    def field(self, key: str) -> BlockField:
        return next(f for f in self.fields if f.key == key)


BLOCK_TYPES: dict[str, BlockType] = {b.type: b for b in (
    BlockType("Residual", ResidualNode,
              "output = body(x) + shortcut(x) (identity when shortcut is omitted), then the post layers",
              (BlockField("body", FieldKind.LAYERS, required=True, min_items=1, always=True),
               BlockField("shortcut", FieldKind.LAYERS),
               BlockField("post", FieldKind.LAYERS, after_op=True)), op="add"),
    BlockType("Concat", ConcatNode, "torch.cat of the branches' outputs along dim",
              (BlockField("dim", FieldKind.INT, always=True, default=1),
               BlockField("branches", FieldKind.BRANCHES, required=True, min_items=1, always=True,
                          start_items=2)), op="cat"),
    BlockType("Sequential", SequentialNode, "layers applied one after the other, as one named block",
              (BlockField("layers", FieldKind.LAYERS, always=True, section=""),)),  # "stage1.0"
)}
BLOCKS = tuple(BLOCK_TYPES)
BLOCK_OF_NODE: dict[type, BlockType] = {b.node: b for b in BLOCK_TYPES.values()}
BLOCK_OPS = frozenset(b.op for b in BLOCK_TYPES.values() if b.op)  # "add", "cat": blocks' own rows


def node_kind(n: Node) -> str:
    """A row's kind for this node: the layer's class, or the block's type."""
    return n.type if isinstance(n, LayerNode) else BLOCK_OF_NODE[type(n)].type


@dataclass(frozen=True)
class Spec:
    input: Shape
    layers: tuple[Node, ...]
    name: str = "spec"
    dtype: str = "float32"
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys are kept, not used

    def to_dict(self) -> dict[str, Any]:
        """The spec back as plain data (what ``parse_spec`` reads)."""
        d: dict[str, Any] = {"name": self.name, "input": list(self.input)}
        if self.dtype != "float32":
            d["dtype"] = self.dtype
        d["layers"] = [_node_to_dict(n) for n in self.layers]
        return d


def _node_to_dict(n: Node) -> dict[str, Any]:
    if isinstance(n, LayerNode):
        d: dict[str, Any] = {"type": n.type}
        if n.name:
            d["name"] = n.name
        d.update({k: _plain(v) for k, v in n.kwargs.items()})
        return d
    block = BLOCK_OF_NODE[type(n)]
    d = {"type": block.type}
    if n.name:
        d["name"] = n.name
    for f in block.fields:
        v = getattr(n, f.key)
        if not f.always and not v:
            continue
        if f.kind is FieldKind.LAYERS:
            v = [_node_to_dict(x) for x in v]
        elif f.kind is FieldKind.BRANCHES:
            v = [[_node_to_dict(x) for x in b] for b in v]
        d[f.key] = v
    return d


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


@dataclass(frozen=True)
class Place:
    """One row of a spec's tree, in flow order."""

    qual: str  # the row's name (``child_name``)
    path: tuple[str | int, ...]  # where it sits in the spec: ("layers", 3, "body", 0); () for an op row
    node: Node | None  # None: a block's own op row (Residual's add, Concat's cat)
    kind: str
    depth: int


def walk(nodes: tuple[Node, ...], prefix: str = "", section: str = "",
         path: tuple[str | int, ...] = ("layers",), depth: int = 0) -> Iterator[Place]:
    """Every row a spec's layers make, in flow order (a block before its layers, its op
    row after them, Residual's post last). The one walk of the spec tree: name checks,
    the rows never reached, the page's row -> card map and the server's argument limits."""
    for i, n in enumerate(nodes):
        q = child_name(prefix, section, n.name, i)
        yield Place(q, path + (i,), n, node_kind(n), depth)
        block = BLOCK_OF_NODE.get(type(n))
        if block is None:
            continue
        op_row = Place(f"{q}.{block.op}", (), None, block.op, depth + 1) if block.op else None
        for f in block.fields:
            if f.after_op and op_row is not None:
                yield op_row
                op_row = None
            here = path + (i, f.key)
            if f.kind is FieldKind.LAYERS:
                yield from walk(getattr(n, f.key) or (), q, f.row_section, here, depth + 1)
            elif f.kind is FieldKind.BRANCHES:
                for b, br in enumerate(getattr(n, f.key)):
                    yield from walk(br, q, f"{f.row_section}.{b}", here + (b,), depth + 1)
        if op_row is not None:
            yield op_row


def child_name(prefix: str, section: str, name: str | None, index: int) -> str:
    """Qualified row name, like ``named_modules()``: a named layer is ``block.name``; an
    unnamed one is ``block.<section>.<index>`` (``resblock1.body.0``, ``3``)."""
    if name:
        own = name
    else:
        own = f"{section}.{index}" if section else str(index)
    return f"{prefix}.{own}" if prefix else own
