"""Declarative models: a spec file (YAML or JSON) and its flow, row by row, without torch.

Schema (ARCHITECTURE.md, "Spec files")::

    input: [1, 1, 28, 28]        # the full input shape, batch included
    name: seed                   # optional
    dtype: float32               # optional: element size for the memory columns
    layers:
      - {type: Conv2d, name: conv1, out_channels: 32, kernel_size: 3, padding: 1}
      - type: Residual           # output = body(x) + shortcut(x), then `post`
        name: resblock1
        body: [...]
        shortcut: [...]          # omitted: identity
        post: [{type: ReLU}]     # optional: layers applied after the add
      - {type: Concat, dim: 1, branches: [[...], [...]]}
      - {type: Sequential, name: stage1, layers: [...]}
      - {type: Linear, out_features: 10}   # in_features inferred

``type`` is a torch.nn class name (or Residual / Concat / Sequential); the other
keys are its constructor arguments. Arguments read off the input (``in_channels``,
``in_features`` ...) may be left out; when given, they are checked.

Malformed specs raise ``SpecError`` (exit code 2) with the path of the bad item;
a shape error is not raised: ``flow`` returns the rows up to the failing layer and
``Report.error`` says what failed and how to fix it.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from . import receptive
from .api import compute
from .diagnose import Context, Failure, FailOp, diagnose
from .errors import ArgumentError, ShapeError, SpecError, UnknownLayerError
from .layers import REGISTRY
from .layers.base import IGNORED, INT64_MAX, arg_hint, did_you_mean, is_int, lookup
from .records import Diagnosis, Edge, Report, Row, Shape, Unreached, finish_totals, mark_leaves
from .shapes import as_tuples, broadcast, fmt_shape
from .spec_tree import (BLOCK_OF_NODE, BLOCK_OPS, BLOCK_TYPES, BLOCKS, BlockField, BlockType, ConcatNode, FieldKind,
                        LayerNode, Node, Place, ResidualNode, SequentialNode, Spec, child_name, node_kind, walk)

# The tree's names are re-exported: ``core.spec`` is where callers find the spec's types.
__all__ = ["BLOCK_OF_NODE", "BLOCK_OPS", "BLOCK_TYPES", "BLOCKS", "BlockField", "BlockType", "ConcatNode",
           "FieldKind", "LayerNode", "Node", "Place", "ResidualNode", "SequentialNode", "Spec", "child_name",
           "node_kind", "walk", "DTYPE_BYTES", "MAX_DIMS", "MAX_LAYERS", "MAX_NESTING", "MAX_SPEC_BYTES",
           "flow", "load_spec", "parse_spec", "parse_text"]

MAX_NESTING = 64
MAX_DIMS = 8
MAX_LAYERS = 100_000
MAX_SPEC_BYTES = 64 << 20  # a 100,000-layer spec is about 5 MB

DTYPE_BYTES = {
    "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2,
    "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1,
}


# --------------------------------------------------------------------------- loading


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read a YAML or JSON spec file (by extension; YAML otherwise)."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise SpecError(f"spec file not found: {p}") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        raise SpecError(f"cannot read spec file {p!r}: {getattr(e, 'strerror', None) or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SpecError(f"spec path is a directory, not a file: {p}")
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or a device would block or never end: refused before it is opened.
        raise SpecError(f"spec path is not a regular file (a pipe or a device?): {p}")
    if st.st_size > MAX_SPEC_BYTES:
        raise SpecError(f"spec file {p} is {st.st_size:,} bytes; at most {MAX_SPEC_BYTES:,} are read")
    try:
        with open(p, encoding="utf-8") as f:
            text = f.read(MAX_SPEC_BYTES + 1)
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read spec file {p}: {e}") from None
    data = parse_text(text, json_only=p.lower().endswith(".json"), source=p)
    return parse_spec(data, source=p)


def parse_text(text: str, *, json_only: bool = False, source: str = "spec") -> Any:
    """YAML 1.2 (a superset of JSON) or strict JSON text -> data (core/loading.py: safe
    loaders, nesting bounded before it is built)."""
    from .loading import load_json, load_yaml

    return load_json(text, source) if json_only else load_yaml(text, source)


def parse_spec(data: Any, *, source: str = "spec") -> Spec:
    """Validate plain data (from YAML/JSON) into a ``Spec``; SpecError names the bad item."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a spec must be a mapping with 'input' and 'layers', "
                        f"got {type(data).__name__}")
    unknown = set(data) - {"input", "layers", "name", "dtype"}
    if "input" not in data:
        raise SpecError(f"{source}: missing 'input' (the full input shape, e.g. [1, 1, 28, 28])")
    if "layers" not in data:
        raise SpecError(f"{source}: missing 'layers' (a list of layers)")
    shape = _shape(data["input"], f"{source}: input")
    name = data.get("name", "spec")
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{source}: name must be a non-empty string, got {name!r}")
    dtype = data.get("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise SpecError(f"{source}: dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    counter = [0]
    layers = _layers(data["layers"], f"{source}: layers", 0, counter)
    spec = Spec(shape, layers, name.strip(), dtype, {k: data[k] for k in unknown})
    _check_unique_names(spec)
    return spec


def _shape(v: Any, where: str) -> Shape:
    if not isinstance(v, (list, tuple)) or not v:
        raise SpecError(f"{where} must be a non-empty list of integers, got {v!r}")
    if len(v) > MAX_DIMS:
        raise SpecError(f"{where} has {len(v)} dimensions; at most {MAX_DIMS} are supported")
    if not all(is_int(d) for d in v):
        raise SpecError(f"{where} must hold integers, got {v!r}")
    if any(d < 1 for d in v):
        raise SpecError(f"{where} sizes must be positive, got {list(v)}")
    if any(d > INT64_MAX for d in v):
        raise SpecError(f"{where} has a size beyond 2**63 - 1 (torch sizes are int64), got {list(v)}"[:300])
    return tuple(int(d) for d in v)


def _layers(v: Any, where: str, nesting: int, counter: list[int]) -> tuple[Node, ...]:
    if nesting > MAX_NESTING:
        raise SpecError(f"{where}: blocks nested more than {MAX_NESTING} deep")
    if not isinstance(v, list):
        raise SpecError(f"{where} must be a list of layers, got {type(v).__name__}")
    return tuple(_node(item, f"{where}[{i}]", nesting, counter) for i, item in enumerate(v))


def _node(item: Any, where: str, nesting: int, counter: list[int]) -> Node:
    counter[0] += 1
    if counter[0] > MAX_LAYERS:
        raise SpecError(f"{where}: more than {MAX_LAYERS} layers")
    if not isinstance(item, dict):
        raise SpecError(f"{where} must be a mapping with a 'type', got {item!r}"[:300])
    if "type" not in item:
        raise SpecError(f"{where} has no 'type' (a torch.nn class name such as Conv2d)")
    typ = item["type"]
    if not isinstance(typ, str):
        raise SpecError(f"{where}: type must be a string, got {typ!r}")
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or "." in name
                             or any(ch.isspace() for ch in name)):
        raise SpecError(f"{where}: name must be a non-empty string without dots or spaces, got {name!r}")
    label = f"{where} ({typ}{' ' + repr(name) if name else ''})"
    if typ == "Residual":
        _only(item, BLOCK_TYPES["Residual"].keys, label)
        if "body" not in item:
            raise SpecError(f"{label}: missing 'body' (the layers of the residual path)")
        body = _layers(item["body"], f"{where}.body", nesting + 1, counter)
        if not body:
            raise SpecError(f"{label}: 'body' is empty")
        sc = item.get("shortcut")
        shortcut = None if sc is None else _layers(sc, f"{where}.shortcut", nesting + 1, counter)
        post = _layers(item.get("post", []), f"{where}.post", nesting + 1, counter)
        return ResidualNode(name, body, shortcut if shortcut else None, post)
    if typ == "Concat":
        _only(item, BLOCK_TYPES["Concat"].keys, label)
        dim = item.get("dim", BLOCK_TYPES["Concat"].field("dim").default)
        if not is_int(dim):
            raise SpecError(f"{label}: dim must be an integer, got {dim!r}")
        br = item.get("branches")
        if not isinstance(br, list) or len(br) < 1:
            raise SpecError(f"{label}: 'branches' must be a list of layer lists")
        branches = tuple(_layers(b, f"{where}.branches[{i}]", nesting + 1, counter) for i, b in enumerate(br))
        return ConcatNode(name, dim, branches)
    if typ == "Sequential":
        _only(item, BLOCK_TYPES["Sequential"].keys, label)
        return SequentialNode(name, _layers(item.get("layers", []), f"{where}.layers", nesting + 1, counter))
    try:
        defn = lookup(typ)
    except UnknownLayerError:
        hint = did_you_mean(typ, list(REGISTRY) + list(BLOCKS))
        raise SpecError(f"{where}: unknown layer type {typ!r}{hint}") from None
    kwargs = {k: as_tuples(v) for k, v in item.items() if k not in ("type", "name")}
    for k in kwargs:
        if k not in defn.arg_names and k not in IGNORED:
            raise SpecError(f"{label}: unknown argument {k!r}{arg_hint(k, defn.arg_names)} "
                            f"(takes: {', '.join(defn.arg_names)})")
    return LayerNode(defn.name, name, kwargs)


def _only(item: dict, allowed: set[str], label: str) -> None:
    extra = sorted(set(item) - allowed)
    if extra:
        raise SpecError(f"{label}: unknown key {extra[0]!r} (takes: {', '.join(sorted(allowed))})")


def _check_unique_names(spec: Spec) -> None:
    seen: set[str] = set()
    for place in walk(spec.layers):
        qual = place.qual
        if qual in seen:
            if place.node is None or qual.rsplit(".", 1)[-1] in BLOCK_OPS:
                raise SpecError(f"layer name {qual!r} is taken by the block's own "
                                f"{qual.rsplit('.', 1)[-1]} row; rename the layer")
            raise SpecError(f"duplicate layer name {qual!r}: names must be unique")
        seen.add(qual)


# --------------------------------------------------------------------------- flow


class _Stop(Exception):
    """Carries the diagnosis of the first failing layer out of the recursion."""

    def __init__(self, diagnosis: Diagnosis, sources: list[int | str] | None = None):
        self.diagnosis = diagnosis
        self.sources = sources or []  # what fed the failing layer (default: the flowing tensor)


class _Flow:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.rows: list[Row] = []
        self.elem = DTYPE_BYTES[spec.dtype]
        # The data flow: ``src`` is the endpoint that produced the tensor now flowing
        # (a row index, or "input:0"); each leaf row adds an edge from it.
        self.edges: list[Edge] = []
        self.src: int | str = "input:0"

    def run(self) -> Report:
        shape = self.spec.input
        rf = receptive.initial(len(shape) - 2) if len(shape) >= 3 else None
        error = None
        unreached: list[Unreached] = []
        error_inputs: list[int | str] = []
        try:
            out, _ = self.seq(self.spec.layers, "", 0, shape, rf)
            self.edges.append(Edge(self.src, "output:0", out))
        except _Stop as stop:
            error = stop.diagnosis
            error_inputs = stop.sources or [self.src]
            unreached = _unreached(self.spec, self.rows, error.row)
        mark_leaves(self.rows)
        from math import prod

        totals = finish_totals(self.rows, input_bytes=prod(self.spec.input) * self.elem)
        return Report(model=self.spec.name, input_shapes=[self.spec.input], rows=self.rows,
                      totals=totals, error=error, device="none", edges=self.edges,
                      not_reached=unreached, error_inputs=error_inputs)

    def leaf(self, row: Row, *sources: int | str) -> None:
        """Append a leaf row fed by ``sources`` (default: the tensor now flowing)."""
        index = len(self.rows)
        self.rows.append(row)
        for src, shape in zip(sources or (self.src,), row.input_shapes):
            self.edges.append(Edge(src, index, shape))
        self.src = index

    def seq(self, nodes, prefix: str, depth: int, shape: Shape, rf, section: str = ""):
        for i, n in enumerate(nodes):
            shape, rf = self.node(n, child_name(prefix, section, n.name, i), depth, shape, rf)
        return shape, rf

    def node(self, n: Node, qual: str, depth: int, shape: Shape, rf):
        if isinstance(n, LayerNode):
            return self.layer(n, qual, depth, shape, rf)
        row = Row(name=qual, kind=node_kind(n), depth=depth,
                  input_shapes=[shape], output_shapes=[])
        self.rows.append(row)
        if isinstance(n, SequentialNode):
            out, out_rf = self.seq(n.layers, qual, depth + 1, shape, rf)
        elif isinstance(n, ResidualNode):
            out, out_rf = self.residual(n, qual, depth + 1, shape, rf)
        else:
            out, out_rf = self.concat(n, qual, depth + 1, shape, rf)
        row.output_shapes = [out]
        row.output_bytes = _numel(out) * self.elem
        row.receptive_field = out_rf
        return out, out_rf

    def layer(self, n: LayerNode, qual: str, depth: int, shape: Shape, rf):
        try:
            r = compute(n.type, shape, **n.kwargs)
        except (ArgumentError, UnknownLayerError) as e:
            # A value of the wrong type or a name torch's constructor would not take is bad
            # input (exit 2, a 422 on the web), as in `shapetrace layer`; not a shape error.
            raise SpecError(f"layer {qual}: {e}") from None
        except ShapeError as e:
            raise _Stop(self.diagnosis(n, qual, shape, e)) from None
        out_rf = receptive.apply(rf, r)
        self.leaf(Row(
            name=qual, kind=n.type, depth=depth, input_shapes=[shape], output_shapes=[r.output_shape],
            params=r.params, trainable_params=r.params, macs=r.macs,
            # weights are stored in the spec's dtype, as its activations (a float16 spec: 2 bytes each)
            output_bytes=_numel(r.output_shape) * self.elem, param_bytes=r.params * self.elem,
            receptive_field=out_rf, formulas=list(r.formulas), notes=list(r.notes),
            kwargs=dict(r.kwargs)))
        return r.output_shape, out_rf

    def diagnosis(self, n: LayerNode, qual: str, shape: Shape, e: ShapeError) -> Diagnosis:
        """The core's message and fix, with the tracer's arithmetic where it has a rule
        (a Linear after a Flatten: 1152 = 128 x 3 x 3, 6272 = 128 x 7 x 7)."""
        kw = n.kwargs
        op, info = FailOp.OTHER, {}
        if n.type == "Linear" and is_int(kw.get("in_features")) and e.argument == "in_features":
            op, info = FailOp.LINEAR, {"in_features": kw["in_features"],
                                       "out_features": kw.get("out_features")}
        failure = Failure(row=Row(name=qual, kind=n.type, depth=0, input_shapes=[shape], output_shapes=[]),
                          op=op, message=str(e), info=info, argument=e.argument, fix=e.fix)
        batch = shape[0] if len(shape) >= 2 else None
        d = diagnose(failure, Context(rows=self.rows, batch=batch))
        fixes = [e.fix] if e.fix else []
        if e.argument in REGISTRY[n.type].inferred and e.argument in kw:
            fixes.append(f"leave {e.argument} out: the spec reads it off the input")
        d.fixes = fixes  # in the spec's terms (the tracer's would say nn.Linear(...))
        d.message = str(e)
        return d

    def residual(self, n: ResidualNode, qual: str, depth: int, shape: Shape, rf):
        block_in = self.src
        body_out, body_rf = self.seq(n.body, qual, depth, shape, rf, "body")
        body_src = self.src
        self.src = block_in  # the shortcut starts from the block's input again
        if n.shortcut is None:
            sc_out, sc_rf = shape, rf
        else:
            sc_out, sc_rf = self.seq(n.shortcut, qual, depth, shape, rf, "shortcut")
        sc_src = self.src
        out = broadcast(body_out, sc_out)
        add_name = qual + ".add"
        if out is None:
            raise _Stop(_add_mismatch(add_name, qual, shape, body_out, sc_out, n.shortcut is None),
                        [body_src, sc_src])
        out_rf = receptive.merge(body_rf, sc_rf)
        self.leaf(Row(name=add_name, kind="add", depth=depth, input_shapes=[body_out, sc_out],
                      output_shapes=[out], output_bytes=_numel(out) * self.elem,
                      receptive_field=out_rf, is_op=True), body_src, sc_src)
        if n.post:
            return self.seq(n.post, qual, depth, out, out_rf, "post")
        return out, out_rf

    def concat(self, n: ConcatNode, qual: str, depth: int, shape: Shape, rf):
        outs, rfs, srcs = [], [], []
        block_in = self.src
        for b, branch in enumerate(n.branches):
            self.src = block_in  # every branch reads the block's input
            o, r = self.seq(branch, qual, depth, shape, rf, f"branches.{b}")
            outs.append(o)
            rfs.append(r)
            srcs.append(self.src)
        cat_name = qual + ".cat"
        rank = len(outs[0])
        dim = n.dim
        if not -rank <= dim < rank:
            raise _Stop(Diagnosis(row=cat_name, kind="cat", argument="dim",
                                  message=f"Concat {qual}: dim {dim} is out of range for "
                                          f"{rank}D tensors (valid: {-rank} to {rank - 1})",
                                  fixes=[f"dim between {-rank} and {rank - 1}"]), srcs)
        d = dim % rank
        for b, o in enumerate(outs[1:], start=1):
            if len(o) != rank or any(o[i] != outs[0][i] for i in range(rank) if i != d):
                raise _Stop(Diagnosis(
                    row=cat_name, kind="cat", expected=outs[0], actual=o, argument="branches",
                    message=f"Concat {qual}: branch {b} gives {fmt_shape(o)} but branch 0 gives "
                            f"{fmt_shape(outs[0])}; all sizes except dim {d} must match",
                    fixes=["make the branches keep the same spatial size (padding, stride)"]), srcs)
        out = tuple(sum(o[d] for o in outs) if i == d else outs[0][i] for i in range(rank))
        out_rf = rfs[0]
        for r in rfs[1:]:
            out_rf = receptive.merge(out_rf, r)
        self.leaf(Row(name=cat_name, kind="cat", depth=depth, input_shapes=outs,
                      output_shapes=[out], output_bytes=_numel(out) * self.elem,
                      receptive_field=out_rf, is_op=True, kwargs={"dim": dim}), *srcs)
        return out, out_rf


def _unreached(spec: Spec, rows: list[Row], failed: str) -> list[Unreached]:
    """The spec's layers and blocks after the failing one, in flow order: they never ran."""
    seen = {r.name for r in rows}
    return [Unreached(p.qual, p.kind, p.depth) for p in walk(spec.layers)
            if p.qual not in seen and p.qual != failed]


def _numel(shape: Shape) -> int:
    from math import prod

    return prod(shape)


def _add_mismatch(add_name: str, qual: str, shape: Shape, body: Shape, sc: Shape,
                  identity: bool) -> Diagnosis:
    what = "the input (identity shortcut)" if identity else "the shortcut"
    fixes = []
    if len(body) == len(sc) and len(body) >= 2:
        if body[1] != sc[1]:
            fixes.append(f"a shortcut Conv{max(len(body) - 2, 1)}d({sc[1]}, {body[1]}, kernel_size=1)"
                         f" to match the channels")
        spatial_b, spatial_s = body[2:], sc[2:]
        if spatial_b != spatial_s and all(s and b for s, b in zip(spatial_s, spatial_b)):
            ratios = {s // b for s, b in zip(spatial_s, spatial_b) if b and s % b == 0}
            if len(ratios) == 1 and ratios != {1}:
                fixes.append(f"stride={ratios.pop()} in the shortcut, as the body downsamples")
            else:
                fixes.append("make body and shortcut produce the same spatial size")
    return Diagnosis(
        row=add_name, kind="add", expected=body, actual=sc, argument="shortcut",
        message=f"Residual {qual}: the body gives {fmt_shape(body)} but {what} gives {fmt_shape(sc)}; "
                f"they cannot be added",
        fixes=fixes or ["make the body and the shortcut produce the same shape"])


def flow(spec: Spec | dict[str, Any]) -> Report:
    """The flow of a spec, row by row (pre-order: a block's row comes before its layers).

    Never raises for a shape problem: the rows up to the failing layer are kept and
    ``Report.error`` names the layer, the numbers and the fix.
    """
    if not isinstance(spec, Spec):
        spec = parse_spec(spec)
    return _Flow(spec).run()
