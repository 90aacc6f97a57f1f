"""Records: numbers only. Strings for people are made in ``core/explain.py`` and ``render/``.

These dataclasses are shared by the torch-free core (a spec's flow) and the torch
tracer (a model's flow), so a spec and a model give the same JSON. They never
import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

Shape = tuple[int, ...]


@dataclass(frozen=True)
class DimFormula:
    """One output dimension of a layer, as a formula and with the numbers put in.

    ``formula`` and ``worked`` are maths (the same in every language); ``axis`` is
    the symbol (``H``, ``W``, ``D``, ``L``, ``C``, ``features``...).
    """

    axis: str
    formula: str  # e.g. "floor((H_in + 2*padding - dilation*(kernel_size-1) - 1)/stride) + 1"
    worked: str  # e.g. "floor((28 + 2*1 - 1*(3-1) - 1)/1) + 1"
    value: int

    def to_dict(self) -> dict[str, Any]:
        return {"axis": self.axis, "formula": self.formula, "worked": self.worked, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DimFormula:
        return cls(d["axis"], d["formula"], d["worked"], int(d["value"]))


@dataclass(frozen=True)
class Note:
    """A remark about a layer call, as a message key plus its numbers.

    ``core/explain.py`` holds the English and Korean text for each key.
    """

    key: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Note:
        return cls(d["key"], tuple(sorted(d.get("params", {}).items())))


def note(key: str, **params: Any) -> Note:
    return Note(key, tuple(sorted(params.items())))


class RFMode(str, Enum):
    """How a layer changes the receptive field."""

    WINDOW = "window"  # a sliding window (conv, pool): see RFOp
    IDENTITY = "identity"  # elementwise, norms, dropout: unchanged
    GLOBAL = "global"  # every output sees the whole input (Linear, Flatten, global pooling)
    UNKNOWN = "unknown"  # not one window any more (transposed conv, upsampling, uneven adaptive bins)


class Category(str, Enum):
    """What a row does, as a key: a layer rule carries one (``core/layers``), the kinds
    without a rule get theirs in ``core/kinds.py``; the words for each are in
    ``core/words.py``. ``CLASSIFY``, ``SHORTCUT``, ``RESIDUAL`` and ``BLOCK`` are decided
    from a row's place in the flow (``render/describe.categorize``)."""

    CONV = "conv"
    CONV_T = "conv_transpose"
    POOL = "pool"
    ACT = "activation"
    NORM = "norm"
    DROPOUT = "dropout"
    FLATTEN = "flatten"
    RESHAPE = "reshape"
    LINEAR = "linear"
    CLASSIFY = "classify"
    ADD = "add"
    SHORTCUT = "shortcut"  # an add that closes a residual shortcut (render/residual.py)
    ARITH = "arithmetic"
    REDUCE = "reduce"
    RESIDUAL = "residual"
    CONCAT = "concat"
    EMBED = "embedding"
    RNN = "recurrent"
    ATTN = "attention"
    UPSAMPLE = "upsample"
    MATMUL = "matmul"
    SOFTMAX = "softmax"
    PAD = "pad"
    IDENTITY = "identity"
    BLOCK = "block"
    OTHER = "other"


@dataclass(frozen=True)
class RFOp:
    """How one layer maps the receptive field, per spatial dimension.

    A sliding window (conv, pool) of ``kernel`` taps spaced ``dilation`` apart,
    moved by ``stride``, after ``padding`` on the low side. Elementwise layers have
    no RFOp (the field passes through unchanged).
    """

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one output position, per spatial dimension.

    ``size``: input pixels that can influence one output value; ``jump``: input
    pixels between adjacent outputs; ``start``: input coordinate of the centre of
    the first output's field (may be negative or fractional, padding lies outside).
    Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks",
    Distill 2019.
    """

    size: tuple[int, ...]
    jump: tuple[int, ...]
    start: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "jump": list(self.jump), "start": list(self.start)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReceptiveField:
        return cls(tuple(d["size"]), tuple(d["jump"]), tuple(float(s) for s in d["start"]))


@dataclass(frozen=True)
class LayerResult:
    """The core's answer for one layer applied to one input."""

    layer: str
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    macs: int
    formulas: tuple[DimFormula, ...] = ()
    notes: tuple[Note, ...] = ()
    rf: RFOp | None = None  # set when rf_mode == "window"; it acts on the trailing spatial dims
    rf_mode: RFMode = RFMode.IDENTITY
    kwargs: tuple[tuple[str, Any], ...] = ()  # the normalised constructor arguments


@dataclass
class Row:
    """One module call or functional op in a flow, in execution order."""

    name: str  # qualified module name; for an op, enclosing module + "." + op
    kind: str  # torch.nn class name, or the op ("add", "cat", "view", "relu", ...)
    depth: int
    input_shapes: list[Shape]
    output_shapes: list[Shape]
    params: int = 0  # parameters owned directly by this module, counted at first use
    trainable_params: int = 0
    macs: int | None = 0  # None: cost unknown (totals then say "partial")
    output_bytes: int = 0
    param_bytes: int = 0
    receptive_field: ReceptiveField | None = None
    formulas: list[DimFormula] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    is_op: bool = False  # a functional op (F.relu, +, torch.cat, view ...) rather than a module
    leaf: bool = True  # no child rows
    kwargs: dict[str, Any] = field(default_factory=dict)  # the layer's arguments, where known

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "depth": self.depth,
            "input_shapes": [list(s) for s in self.input_shapes],
            "output_shapes": [list(s) for s in self.output_shapes],
            "params": self.params,
            "trainable_params": self.trainable_params,
            "macs": self.macs,
            "output_bytes": self.output_bytes,
            "param_bytes": self.param_bytes,
            "receptive_field": self.receptive_field.to_dict() if self.receptive_field else None,
            "formulas": [f.to_dict() for f in self.formulas],
            "notes": [n.to_dict() for n in self.notes],
            "is_op": self.is_op,
            "leaf": self.leaf,
            "kwargs": _jsonable(self.kwargs),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        rf = d.get("receptive_field")
        return cls(
            name=d["name"],
            kind=d["kind"],
            depth=int(d["depth"]),
            input_shapes=[tuple(s) for s in d["input_shapes"]],
            output_shapes=[tuple(s) for s in d["output_shapes"]],
            params=int(d.get("params", 0)),
            trainable_params=int(d.get("trainable_params", 0)),
            macs=d.get("macs"),
            output_bytes=int(d.get("output_bytes", 0)),
            param_bytes=int(d.get("param_bytes", 0)),
            receptive_field=ReceptiveField.from_dict(rf) if rf else None,
            formulas=[DimFormula.from_dict(f) for f in d.get("formulas", [])],
            notes=[Note.from_dict(n) for n in d.get("notes", [])],
            is_op=bool(d.get("is_op", False)),
            leaf=bool(d.get("leaf", True)),
            kwargs=dict(d.get("kwargs", {})),
        )


@dataclass(frozen=True)
class Edge:
    """One tensor flowing from the row that produced it to a row that consumed it.

    ``src`` and ``dst`` index ``Report.rows`` (rows with no child rows: a container is a
    group, not an endpoint) or are ``"input:K"`` (the model's K-th input) and
    ``"output:K"`` (its K-th output). A residual add has two incoming edges, a concat
    one per branch."""

    src: int | str
    dst: int | str
    shape: Shape

    def to_dict(self) -> dict[str, Any]:
        return {"src": self.src, "dst": self.dst, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Edge:
        def end(v: Any) -> int | str:
            return v if isinstance(v, str) else int(v)

        return cls(end(d["src"]), end(d["dst"]), tuple(int(x) for x in d["shape"]))


@dataclass(frozen=True)
class Unreached:
    """A layer that never ran because the flow stopped before it (a graph shows it greyed)."""

    name: str
    kind: str
    depth: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "depth": self.depth}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Unreached:
        return cls(str(d["name"]), str(d["kind"]), int(d["depth"]))


@dataclass
class Totals:
    params: int = 0
    trainable_params: int = 0
    macs: int = 0
    macs_partial: bool = False  # some op's cost is unknown: macs is a lower bound
    param_bytes: int = 0
    activation_bytes: int = 0  # sum of output bytes of leaf rows (one forward pass)
    input_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Totals:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Warning_:
    """Something that ran but is probably wrong (e.g. a view that changed the batch)."""

    code: str  # e.g. "batch_changed"
    row: str  # the row's name
    message: str  # one line, English
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "row": self.row, "message": self.message, "fix": self.fix}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Warning_:
        return cls(d["code"], d["row"], d["message"], d.get("fix"))


@dataclass
class Diagnosis:
    """Why the flow stopped: the failing layer, the numbers and the fix."""

    row: str  # name of the failing layer or op
    kind: str
    message: str  # one line, English: what is wrong, with the numbers
    expected: Shape | None = None
    actual: Shape | None = None
    arithmetic: list[str] = field(default_factory=list)  # e.g. ["1152 = 128 x 3 x 3", "6272 = 128 x 7 x 7"]
    fixes: list[str] = field(default_factory=list)  # e.g. ["nn.Linear(1152, 512)", "nn.LazyLinear(512)"]
    argument: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "kind": self.kind,
            "message": self.message,
            "expected": list(self.expected) if self.expected is not None else None,
            "actual": list(self.actual) if self.actual is not None else None,
            "arithmetic": list(self.arithmetic),
            "fixes": list(self.fixes),
            "argument": self.argument,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnosis:
        return cls(
            row=d["row"],
            kind=d["kind"],
            message=d["message"],
            expected=tuple(d["expected"]) if d.get("expected") is not None else None,
            actual=tuple(d["actual"]) if d.get("actual") is not None else None,
            arithmetic=list(d.get("arithmetic", [])),
            fixes=list(d.get("fixes", [])),
            argument=d.get("argument"),
        )


# How a Report shows itself in a notebook: set once by the package (``set_html_display``).
_HTML_DISPLAY: list[Any] = []


def set_html_display(fn: Any) -> None:
    """Plug in ``fn(report) -> str`` as ``Report._repr_html_`` (the renderers live above the core)."""
    _HTML_DISPLAY[:] = [fn]


@dataclass
class Report:
    """A whole flow: rows in execution order, totals, warnings, and the first error."""

    model: str
    input_shapes: list[Shape]
    rows: list[Row] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    warnings: list[Warning_] = field(default_factory=list)
    error: Diagnosis | None = None
    device: str = "none"  # "meta", "cpu", "cuda", or "none" for a spec (no torch)
    edges: list[Edge] = field(default_factory=list)  # the data flow between leaf rows
    not_reached: list[Unreached] = field(default_factory=list)  # after an error: what never ran
    error_inputs: list[int | str] = field(default_factory=list)  # the endpoints feeding the failing layer

    @property
    def ok(self) -> bool:
        return self.error is None

    def _repr_html_(self) -> str | None:
        """The flow table in a notebook (Jupyter calls this). The renderer is plugged in from
        above (``shapetrace/__init__.py`` registers ``render.repr_html``), so the core never
        imports the renderers; None (Jupyter then shows the repr) when none is registered."""
        return _HTML_DISPLAY[0](self) if _HTML_DISPLAY else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "device": self.device,
            "rows": [r.to_dict() for r in self.rows],
            "totals": self.totals.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
            "error": self.error.to_dict() if self.error else None,
            "edges": [e.to_dict() for e in self.edges],
            "not_reached": [u.to_dict() for u in self.not_reached],
            "error_inputs": list(self.error_inputs),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        return cls(
            model=d["model"],
            input_shapes=[tuple(s) for s in d["input_shapes"]],
            rows=[Row.from_dict(r) for r in d["rows"]],
            totals=Totals.from_dict(d["totals"]),
            warnings=[Warning_.from_dict(w) for w in d.get("warnings", [])],
            error=Diagnosis.from_dict(d["error"]) if d.get("error") else None,
            device=d.get("device", "none"),
            edges=[Edge.from_dict(e) for e in d.get("edges", [])],
            not_reached=[Unreached.from_dict(u) for u in d.get("not_reached", [])],
            error_inputs=[v if isinstance(v, str) else int(v) for v in d.get("error_inputs", [])],
        )


def finish_totals(rows: list[Row], input_bytes: int = 0) -> Totals:
    """Totals from rows: params are owned per row (so they simply add up); memory
    and MACs add over leaf rows, so that a container is not counted twice."""
    t = Totals(input_bytes=input_bytes)
    for r in rows:
        t.params += r.params
        t.trainable_params += r.trainable_params
        t.param_bytes += r.param_bytes
        if r.leaf:
            t.activation_bytes += r.output_bytes
            if r.macs is None:
                t.macs_partial = True
            else:
                t.macs += r.macs
    return t


def subtree_end(rows: list[Row], i: int) -> int:
    """One past the last row inside row ``i`` (rows are in pre-order, children deeper)."""
    j = i + 1
    while j < len(rows) and rows[j].depth > rows[i].depth:
        j += 1
    return j


def mark_leaves(rows: list[Row]) -> None:
    """A row is a leaf unless the next row is deeper (rows are in pre-order)."""
    for i, r in enumerate(rows):
        r.leaf = not (i + 1 < len(rows) and rows[i + 1].depth > r.depth)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
