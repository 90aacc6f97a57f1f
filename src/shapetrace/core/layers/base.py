"""The layer registry: one ``LayerDef`` per torch.nn class, and argument binding.

A layer family module (``conv.py``, ``pool.py`` ...) registers each class it knows
with ``@register(name, signature, family=..., category=...)``. ``signature`` lists the
constructor's keyword arguments in torch's order with their defaults (``REQUIRED`` for
none), so that a call is checked exactly as torch's constructor checks its keywords.

The rule also carries what the renderers and the tracer need to know about the layer,
so that adding a layer is its rule plus its oracle strategy (tests/core/test_oracle_*.py):
``category`` (what it does, a ``records.Category``; its words are in ``core/words.py``),
``short`` (the label a person uses, ``MaxPool`` for MaxPool2d), ``functional`` (the
names of the torch functions that do the same computation, as the tracer names their
op rows: ``max_pool2d``) and ``notes`` (the note keys the rule may emit).
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from math import prod  # noqa: F401 (the layer modules import it from here)
from typing import Any, Callable, Iterable, Mapping, NoReturn, Sequence

from ..errors import ArgumentError, ShapeError, UnknownLayerError
from ..records import Category, LayerResult, RFMode, Shape
from ..shapes import fmt_shape  # noqa: F401 (the layer modules import it from here)

INT64_MAX = 2**63 - 1
FLOAT_BYTES = 4

REQUIRED: Any = type("REQUIRED", (), {"__repr__": lambda self: "REQUIRED"})()

# Arguments every torch.nn layer takes and that never change a shape.
IGNORED = ("device", "dtype")


@dataclass(frozen=True)
class LayerDef:
    name: str
    signature: tuple[tuple[str, Any], ...]
    fn: Callable[["Call"], LayerResult]
    # Arguments that may be left out and are read off the input shape(s).
    inferred: Mapping[str, Callable[[tuple[Shape, ...]], Any]] = field(default_factory=dict)
    n_inputs: int = 1  # 2 for Bilinear
    family: str = ""
    integer_input: bool = False  # Embedding: the input holds indices, not features
    # Identity takes and ignores any arguments (``nn.Identity(*args, **kwargs)``).
    any_kwargs: bool = False
    category: Category = Category.OTHER
    short: str = ""  # the label a person uses ("MaxPool" for MaxPool2d); "" = the name
    functional: tuple[str, ...] = ()  # op-row kinds of the same computation ("max_pool2d")
    notes: tuple[str, ...] = ()  # the note keys the rule may emit (words: core/words.py)

    @property
    def label(self) -> str:
        return self.short or self.name

    @functools.cached_property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.signature)


REGISTRY: dict[str, LayerDef] = {}


def register(name: str, signature: Sequence[tuple[str, Any]], *, family: str, category: Category,
             short: str = "", functional: Iterable[str] = (), notes: Iterable[str] = (),
             inferred: Mapping[str, Callable[[tuple[Shape, ...]], Any]] | None = None,
             n_inputs: int = 1, integer_input: bool = False, any_kwargs: bool = False):
    """Register ``fn(call) -> LayerResult`` as the rule for torch.nn.<name>."""

    def deco(fn: Callable[[Call], LayerResult]) -> Callable[[Call], LayerResult]:
        if name in REGISTRY:
            raise RuntimeError(f"layer {name} registered twice")
        REGISTRY[name] = LayerDef(name, tuple(signature), fn, dict(inferred or {}), n_inputs,
                                  family, integer_input, any_kwargs, Category(category), short,
                                  tuple(functional), tuple(notes))
        return fn

    return deco


def register_many(names: Mapping[str, Iterable[str]], signature: Sequence[tuple[str, Any]], **kw):
    """One rule for several classes: ``names`` maps each class to its functional names."""

    def deco(fn):
        for n, functional in names.items():
            register(n, signature, functional=functional, **kw)(fn)
        return fn

    return deco


def _unreadable(infer: Callable[[tuple[Shape, ...]], Any], inputs: tuple[Shape, ...]) -> bool:
    try:
        infer(inputs)
    except (IndexError, ValueError):
        return True
    return False


class Call:
    """One layer applied to one input: the bound arguments and helpers to fail well."""

    def __init__(self, layer: LayerDef, args: dict[str, Any], inputs: tuple[Shape, ...]):
        self.defn = layer
        self.layer = layer.name
        self.args = args
        self.inputs = inputs

    @property
    def input(self) -> Shape:
        return self.inputs[0]

    def __getitem__(self, key: str) -> Any:
        return self.args[key]

    def fail(self, message: str, *, argument: str | None = None, fix: str | None = None) -> NoReturn:
        raise ShapeError(f"{self.layer}: {message}", layer=self.layer, argument=argument, fix=fix)

    def bad_arg(self, argument: str, message: str) -> NoReturn:
        raise ArgumentError(f"{self.layer}: {argument} {message}", layer=self.layer, argument=argument)

    # -- argument readers: they check type and range the way torch's constructor does
    def int_arg(self, name: str, *, minimum: int | None = None, allow_none: bool = False) -> int | None:
        v = self.args[name]
        if v is None and allow_none:
            return None
        if v is None and name in self.defn.inferred and _unreadable(self.defn.inferred[name], self.inputs):
            self.fail(f"{name} is read off the input, but the {len(self.input)}D input of shape "
                      f"{fmt_shape(self.input)} has no dimension for it", argument="input")
        if not is_int(v):
            self.bad_arg(name, f"must be an integer, got {v!r}")
        if minimum is not None and v < minimum:
            self.fail(f"{name} must be >= {minimum}, got {v}", argument=name)
        return int(v)

    def bool_arg(self, name: str) -> bool:
        v = self.args[name]
        if not isinstance(v, bool):
            if is_int(v) and v in (0, 1):
                return bool(v)
            self.bad_arg(name, f"must be true or false, got {v!r}")
        return v

    def float_arg(self, name: str, *, allow_none: bool = False) -> float | None:
        v = self.args[name]
        if v is None and allow_none:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.bad_arg(name, f"must be a number, got {v!r}")
        return float(v)

    def tuple_arg(self, name: str, n: int, *, allow_one: bool = False) -> tuple[int, ...]:
        """An int or a tuple of ``n`` ints (torch's ``_single``/``_pair``/``_triple``).

        ``allow_one``: a 1-tuple is broadcast, as torch's pooling functions do.
        """
        v = self.args[name]
        if is_int(v):
            return (int(v),) * n
        if isinstance(v, (list, tuple)) and all(is_int(x) for x in v):
            if len(v) == n:
                return tuple(int(x) for x in v)
            if allow_one and len(v) == 1:
                return (int(v[0]),) * n
            self.bad_arg(name, f"must be an integer or {n} integers, got {len(v)} values {tuple(v)}")
        self.bad_arg(name, f"must be an integer or a tuple of {n} integers, got {v!r}")

    def choice_arg(self, name: str, choices: Sequence[str]) -> str:
        v = self.args[name]
        if not isinstance(v, str) or v not in choices:
            opts = ", ".join(repr(c) for c in choices)
            self.fail(f"{name} must be one of {opts}, got {v!r}", argument=name)
        return v

    def opt_tuple_arg(self, name: str, n: int, default: tuple[int, ...], *,
                      allow_one: bool = False) -> tuple[int, ...]:
        """Like ``tuple_arg`` but None (and an empty list, as torch's pooling functions
        take it) means ``default`` (a pooling stride defaults to the kernel size)."""
        v = self.args[name]
        if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
            return default
        return self.tuple_arg(name, n, allow_one=allow_one)

    def dim_arg(self, name: str, ndim: int) -> int:
        """A dimension index, wrapped the way torch wraps it (``maybe_wrap_dim``): a
        0-d tensor takes -1 and 0, as if it had one dimension."""
        v = self.args[name]
        if not is_int(v):
            self.bad_arg(name, f"must be an integer dimension, got {v!r}")
        size = max(ndim, 1)
        if not -size <= v < size:
            self.fail(f"{name}={v} is out of range for a {ndim}D input (valid: {-size} to {size - 1})",
                      argument=name, fix=f"{name} between {-size} and {size - 1}")
        return v + size if v < 0 else v

    def prob_arg(self, name: str = "p") -> float:
        p = self.float_arg(name)
        if not 0.0 <= p <= 1.0:
            self.fail(f"{name} is a probability and must be between 0 and 1, got {p}", argument=name,
                      fix=f"{name} between 0 and 1, e.g. 0.5")
        return p

    def none_arg(self, name: str, why: str) -> None:
        """An argument that can only be None here (e.g. Embedding's ``_weight``, a tensor)."""
        if self.args[name] is not None:
            self.bad_arg(name, f"must be None: {why}")

    def ndim_check(self, allowed: Sequence[int], what: str = "input") -> int:
        """Check the input rank is one torch accepts; returns it."""
        shape = self.input
        if len(shape) not in allowed:
            want = " or ".join(str(a) + "D" for a in allowed)
            self.fail(f"expected a {want} {what}, got {len(shape)}D input of shape {fmt_shape(shape)}",
                      argument="input")
        return len(shape)

    def batched_rank(self, n: int, shape: Sequence[int] | None = None, layout: str = "",
                     fix: str | None = None) -> None:
        """Rank n + 1 (unbatched) or n + 2 (batched), as layers with n spatial dims take."""
        shape = self.input if shape is None else shape
        if len(shape) not in (n + 1, n + 2):
            self.fail(f"expected a {n + 1}D (unbatched) or {n + 2}D (batched) input{' ' + layout if layout else ''}, "
                      f"got {len(shape)}D input of shape {fmt_shape(shape)}", argument="input", fix=fix)

    def result(self, output_shape: Sequence[int], *, params: int = 0, macs: int = 0,
               formulas=(), notes=(), rf=None, rf_mode: RFMode | None = None,
               inputs: tuple[Shape, ...] | None = None) -> LayerResult:
        # torch sizes a tensor's storage in int64 bytes ("Storage size calculation
        # overflowed"): weights or an output beyond that are refused even on meta (float32).
        for what, n in (("the weights", params), ("the output", prod(output_shape))):
            if n * FLOAT_BYTES > INT64_MAX:
                self.fail(f"{what} would hold {n:,} elements ({n * FLOAT_BYTES:,} bytes as float32), more "
                          f"than a tensor can address (2**63 - 1 bytes)", fix="smaller sizes")
        return LayerResult(
            layer=self.layer,
            input_shapes=inputs if inputs is not None else self.inputs,
            output_shape=tuple(int(d) for d in output_shape),
            params=int(params),
            macs=int(macs),
            formulas=tuple(formulas),
            notes=tuple(notes),
            rf=rf,
            rf_mode=rf_mode or (RFMode.WINDOW if rf is not None else RFMode.IDENTITY),
            kwargs=tuple((k, v) for k, v in self.args.items() if k not in IGNORED),
        )


AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_AXIS_WORDS = {"L": "length", "H": "height", "W": "width", "D": "depth"}


def axes(n: int) -> tuple[str, ...]:
    """Names of the last ``n`` spatial dimensions, as torch's docs name them."""
    return AXES.get(n, tuple(f"d{i}" for i in range(n)))


def axis_word(ax: str) -> str:
    return _AXIS_WORDS.get(ax, ax)


def show(t: Sequence[int]) -> str:
    """One value as itself, several as a tuple (for messages)."""
    return str(t[0]) if len(t) == 1 else fmt_shape(t)


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def lookup(layer: str) -> LayerDef:
    if not isinstance(layer, str):
        raise UnknownLayerError(f"layer must be a torch.nn class name, got {layer!r}")
    name = layer[3:] if layer.startswith("nn.") else layer
    defn = REGISTRY.get(name)
    if defn is None:
        raise UnknownLayerError(f"unknown layer {layer!r}{did_you_mean(name, list(REGISTRY))}", layer=layer)
    return defn


def did_you_mean(name: str, candidates: list[str]) -> str:
    """``"; did you mean A, B?"`` with the close names (else a case-insensitive match), or ""."""
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if not close:
        folded = {k.lower(): k for k in candidates}
        if name.lower() in folded:
            close = [folded[name.lower()]]
    return f"; did you mean {', '.join(close)}?" if close else ""


def arg_hint(arg: str, names: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for a misspelt argument name, or ""."""
    close = difflib.get_close_matches(arg, names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def normalise_inputs(defn: LayerDef, input_shape: Any) -> tuple[Shape, ...]:
    """One shape for one-input layers; a sequence of shapes for Bilinear."""

    def one(s: Any, what: str) -> Shape:
        if isinstance(s, (str, bytes)) or not isinstance(s, Sequence):
            raise ShapeError(f"{defn.name}: {what} must be a sequence of integers, got {s!r}",
                             layer=defn.name, argument="input")
        if not all(is_int(d) for d in s):
            raise ShapeError(f"{defn.name}: {what} must hold integers, got {tuple(s)!r}",
                             layer=defn.name, argument="input")
        neg = [d for d in s if d < 0]
        if neg:
            raise ShapeError(f"{defn.name}: {what} {fmt_shape(s)} has a negative size {neg[0]}",
                             layer=defn.name, argument="input")
        if any(d > INT64_MAX for d in s):
            raise ArgumentError(f"{defn.name}: {what} has a size beyond 2**63 - 1 (torch sizes are int64)",
                                layer=defn.name, argument="input")
        return tuple(int(d) for d in s)

    if defn.n_inputs == 1:
        return (one(input_shape, "input shape"),)
    if (isinstance(input_shape, Sequence) and len(input_shape) == defn.n_inputs
            and all(isinstance(s, Sequence) and not isinstance(s, str) for s in input_shape)):
        return tuple(one(s, f"input {i + 1} shape") for i, s in enumerate(input_shape))
    raise ShapeError(f"{defn.name}: takes {defn.n_inputs} inputs; give input_shape as a list of "
                     f"{defn.n_inputs} shapes, got {input_shape!r}", layer=defn.name, argument="input")


def bind(defn: LayerDef, kwargs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
    """Keyword arguments -> the full argument dict, defaults and inferred values filled."""
    names = defn.arg_names
    args: dict[str, Any] = {}
    for k, v in kwargs.items():
        _check_int64(defn, k, v)
    for k in kwargs:
        if k not in names and k not in IGNORED and not defn.any_kwargs:
            valid = ", ".join(names)
            raise ArgumentError(f"{defn.name}: unknown argument {k!r}{arg_hint(k, names)} (takes: {valid})",
                                layer=defn.name, argument=k)
    for name, default in defn.signature:
        if name in kwargs:
            args[name] = kwargs[name]
        elif name in defn.inferred:
            try:
                args[name] = defn.inferred[name](inputs)
            except (IndexError, ValueError):
                # The input is too short to read the value off: the layer's own rank
                # check reports this with the numbers.
                args[name] = None if default is REQUIRED else default
        elif default is REQUIRED:
            raise ArgumentError(f"{defn.name}: missing required argument {name!r}",
                                layer=defn.name, argument=name)
        else:
            args[name] = default
    if defn.any_kwargs:
        args.update((k, v) for k, v in kwargs.items() if k not in args and k not in IGNORED)
    return args


def _check_int64(defn: LayerDef, name: str, v: Any) -> None:
    """Every integer argument must fit int64: torch's C++ takes sizes, strides and dims as
    int64_t and refuses a larger Python int ("Overflow when unpacking long long") at the call.
    Checked here, where arguments enter the core, for every layer and inside tuples."""
    stack = [v]
    while stack:
        x = stack.pop()
        if is_int(x) and not -INT64_MAX - 1 <= x <= INT64_MAX:
            raise ArgumentError(f"{defn.name}: {name} is beyond the int64 range (torch takes it as a "
                                f"64-bit integer), got {_short(x)}", layer=defn.name, argument=name)
        if isinstance(x, (list, tuple)):
            stack.extend(x)


def _short(v: int) -> str:
    """A huge int for a message (Python refuses str() of one past 4300 digits)."""
    if v.bit_length() > 200:
        return f"an integer of about {int(v.bit_length() * 0.30103)} digits"
    return str(v)


def call(layer: str, input_shape: Any, kwargs: Mapping[str, Any]) -> LayerResult:
    defn = lookup(layer)
    inputs = normalise_inputs(defn, input_shape)
    args = bind(defn, kwargs, inputs)
    return defn.fn(Call(defn, args, inputs))
